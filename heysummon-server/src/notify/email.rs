//! E-mail channels: one `multipart/alternative` message (text and HTML) per notification,
//! through the configured SMTP server.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::content::{Notice, html, visible};
use super::outbound::SendError;
use super::spec::Stored;
use super::transport::Sent;
use crate::config::EmailConfig;

/// Checks an address (`someone@example.com`).
pub(crate) fn check_address(address: &str) -> Result<String, String> {
    address
        .parse::<lettre::Address>()
        .map(|a| a.to_string())
        .map_err(|_| "to must be an e-mail address".to_owned())
}

fn text_part(notice: &Notice) -> String {
    let mut text = format!("{}\n\n", notice.headline());
    match notice.chat_question() {
        Some(question) => text.push_str(&format!("{question}\n\n")),
        None if notice.sealed => text.push_str(&format!("{}\n\n", Notice::SEALED_LINE)),
        None => {}
    }
    text.push_str(&format!("Open it: {}\n", notice.link));
    text
}

fn html_part(notice: &Notice) -> String {
    let mut body = format!("<p><strong>{}</strong></p>", html(&notice.headline()));
    match notice.question.as_deref() {
        Some(question) => body.push_str(&format!(
            "<blockquote style=\"white-space:pre-wrap\">{}</blockquote>",
            html(&visible(question))
        )),
        None if notice.sealed => body.push_str(&format!("<p><em>{}</em></p>", Notice::SEALED_LINE)),
        None => {}
    }
    body.push_str(&format!(
        "<p><a href=\"{}\">Open in HeySummon</a></p>",
        html(&notice.link)
    ));
    format!("<!doctype html><html><body>{body}</body></html>")
}

/// Sends the notice as an e-mail.
pub(crate) async fn send(
    config: &EmailConfig,
    stored: &Stored,
    notice: &Notice,
) -> Result<Sent, SendError> {
    let (Some(url), Some(from)) = (&config.smtp_url, &config.from) else {
        return Err(SendError::new(
            "e-mail is not configured ([channels.email] smtp_url, from)",
        ));
    };
    let from: Mailbox = from
        .parse()
        .map_err(|_| SendError::new("[channels.email] from is not a valid sender"))?;
    let to: Mailbox = stored
        .setting("to")
        .parse()
        .map_err(|_| SendError::new("the channel's address is not valid"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(notice.headline())
        .multipart(MultiPart::alternative_plain_html(
            text_part(notice),
            html_part(notice),
        ))
        .map_err(|e| SendError::new(format!("could not build the message: {e}")))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| SendError::new(format!("[channels.email] smtp_url: {e}")))?
        .timeout(Some(std::time::Duration::from_secs(10)));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        transport =
            transport.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    transport.build().send(message).await.map_err(|e| {
        let mut failure = SendError::new(format!("SMTP: {e}"));
        failure.permanent = e.is_permanent();
        failure
    })?;
    Ok(Sent::default())
}
