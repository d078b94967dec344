//! A minimal ESMTP server over TCP on 127.0.0.1 that keeps every message it accepts.
//!
//! It speaks `EHLO`/`HELO` (offering `AUTH PLAIN LOGIN`, accepting any credentials; no
//! `STARTTLS`), `MAIL FROM`, `RCPT TO`, `DATA` (dot-unstuffed up to `<CRLF>.<CRLF>`), `RSET`,
//! `NOOP`, `VRFY` and `QUIT`, and insists on their order (a greeting before `MAIL`, `MAIL`
//! before `RCPT`, a recipient before `DATA`) as real servers do.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::wait_until;

/// The name the sink greets with.
const HOST: &str = "smtp-sink.heysummon.test";

/// A message the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`, without the angle brackets).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The message as sent after `DATA`: headers and body, dot-unstuffed, CRLF line ends,
    /// without the final `.` line.
    pub data: String,
    /// Who the client authenticated as (`AUTH PLAIN` or `LOGIN`), if it did.
    pub user: Option<String>,
}

/// A running SMTP sink. Dropping it stops it and closes its connections.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Mutex<Sunk>>,
    serving: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Sunk {
    messages: Vec<Mail>,
    refuse: usize,
    attempts: usize,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

impl SmtpSink {
    /// Starts a sink on 127.0.0.1 (a free port).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|error| panic!("no port for the SMTP sink: {error}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("the SMTP sink's address: {error}"));
        let shared = Arc::new(Mutex::new(Sunk::default()));
        let sessions = shared.clone();
        let serving = tokio::spawn(async move {
            // Dropping the set (when the sink is dropped) ends every session.
            let mut running = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            running.spawn(session(stream, sessions.clone()));
                        }
                        Err(_) => break,
                    },
                    Some(_) = running.join_next(), if !running.is_empty() => {}
                }
            }
        });
        Self {
            addr,
            shared,
            serving,
        }
    }

    /// `smtp://127.0.0.1:PORT`: the `[channels.email] smtp_url` that reaches this sink.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        self.sunk().messages.clone()
    }

    /// How many `DATA` commands came with a recipient: the messages accepted and the ones
    /// refused by [`SmtpSink::fail_next`].
    pub fn attempts(&self) -> usize {
        self.sunk().attempts
    }

    /// Answers the next `times` `DATA` commands `451` (a temporary failure).
    pub fn fail_next(&self, times: usize) {
        self.sunk().refuse += times;
    }

    /// Waits until `count` messages have been accepted and returns them all; panics after
    /// `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Mail> {
        wait_until(
            timeout,
            || {
                let messages = self.messages();
                (messages.len() >= count).then_some(messages)
            },
            || {
                let sunk = self.sunk();
                format!(
                    "SMTP sink: {count} messages within {timeout:?}; {} accepted ({} DATA \
                     attempts): {:?}",
                    sunk.messages.len(),
                    sunk.attempts,
                    sunk.messages
                )
            },
        )
        .await
    }

    fn sunk(&self) -> MutexGuard<'_, Sunk> {
        self.shared.lock().expect("the SMTP sink's state")
    }
}

/// One connection; ends at `QUIT`, at end of input or on an I/O error.
async fn session(stream: TcpStream, shared: Arc<Mutex<Sunk>>) {
    let _ = converse(stream, &shared).await;
}

async fn converse(stream: TcpStream, shared: &Mutex<Sunk>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut reply = async |text: &str| write.write_all(format!("{text}\r\n").as_bytes()).await;
    reply(&format!("220 {HOST} ESMTP HeySummon SmtpSink")).await?;
    let (mut greeted, mut user) = (false, None);
    let (mut from, mut to): (Option<String>, Vec<String>) = (None, Vec::new());
    while let Some(line) = read_line(&mut reader).await? {
        let (verb, argument) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                (from, to) = (None, Vec::new());
                let offers = ["8BITMIME", "SMTPUTF8", "AUTH PLAIN LOGIN", "SIZE 10485760"];
                reply(&format!("250-{HOST} greets {argument}")).await?;
                for (i, offer) in offers.iter().enumerate() {
                    let sep = if i + 1 == offers.len() { ' ' } else { '-' };
                    reply(&format!("250{sep}{offer}")).await?;
                }
            }
            "HELO" => {
                greeted = true;
                (from, to) = (None, Vec::new());
                reply(&format!("250 {HOST}")).await?;
            }
            "AUTH" => {
                let mut words = argument.split_whitespace();
                let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
                let initial = words.next().map(str::to_owned);
                let answered = match mechanism.as_str() {
                    "PLAIN" => {
                        let response = match initial {
                            Some(response) => Some(response),
                            None => {
                                reply("334 ").await?;
                                read_line(&mut reader).await?
                            }
                        };
                        // authzid NUL authcid NUL password
                        response.filter(|r| r != "*").map(|r| {
                            let plain = decode(&r);
                            plain.split('\0').nth(1).unwrap_or("").to_owned()
                        })
                    }
                    "LOGIN" => {
                        let name = match initial {
                            Some(name) => Some(name),
                            None => {
                                reply("334 VXNlcm5hbWU6").await?;
                                read_line(&mut reader).await?
                            }
                        };
                        reply("334 UGFzc3dvcmQ6").await?;
                        let password = read_line(&mut reader).await?;
                        name.zip(password)
                            .filter(|(n, p)| n != "*" && p != "*")
                            .map(|(n, _)| decode(&n))
                    }
                    _ => {
                        reply("504 5.5.4 Unrecognized authentication type").await?;
                        continue;
                    }
                };
                match answered {
                    Some(name) => {
                        user = Some(name);
                        reply("235 2.7.0 Authentication successful").await?;
                    }
                    None => reply("501 5.7.0 Authentication cancelled").await?,
                }
            }
            "MAIL" if !greeted => reply("503 5.5.1 Error: send HELO/EHLO first").await?,
            "MAIL" if from.is_some() => reply("503 5.5.1 Error: nested MAIL command").await?,
            "MAIL" => match address(argument, "FROM:") {
                Some(sender) => {
                    from = Some(sender);
                    reply("250 2.1.0 Ok").await?;
                }
                None => reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?,
            },
            "RCPT" if from.is_none() => reply("503 5.5.1 Error: need MAIL command").await?,
            "RCPT" => match address(argument, "TO:").filter(|a| !a.is_empty()) {
                Some(recipient) => {
                    to.push(recipient);
                    reply("250 2.1.5 Ok").await?;
                }
                None => reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
            },
            "DATA" if to.is_empty() => reply("503 5.5.1 Error: need RCPT command").await?,
            "DATA" => {
                let refused = {
                    let mut sunk = shared.lock().expect("the SMTP sink's state");
                    sunk.attempts += 1;
                    let refused = sunk.refuse > 0;
                    sunk.refuse = sunk.refuse.saturating_sub(1);
                    refused
                };
                if refused {
                    reply("451 4.3.0 Try again later (SmtpSink::fail_next)").await?;
                    continue;
                }
                reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(&mut reader).await? else {
                    return Ok(());
                };
                let queued = {
                    let mut sunk = shared.lock().expect("the SMTP sink's state");
                    sunk.messages.push(Mail {
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        data,
                        user: user.clone(),
                    });
                    sunk.messages.len()
                };
                reply(&format!("250 2.0.0 Ok: queued as {queued}")).await?;
            }
            "RSET" => {
                (from, to) = (None, Vec::new());
                reply("250 2.0.0 Ok").await?;
            }
            "NOOP" => reply("250 2.0.0 Ok").await?,
            "VRFY" => reply("252 2.0.0 Cannot VRFY user").await?,
            "STARTTLS" => reply("454 4.7.0 TLS not available").await?,
            "QUIT" => {
                reply("221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply("502 5.5.2 Error: command not recognized").await?,
        }
    }
    Ok(())
}

/// The next line without its line end; `None` at end of input.
async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&line);
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// The message after `354`, up to the line holding only `.`: dot-unstuffed, lines ending in
/// CRLF. `None` when the input ends first.
async fn read_data(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<String>> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
}

/// The address in `FROM:<a@b> PARAMS` / `TO:<a@b>` (`<>`: the empty sender).
fn address(argument: &str, keyword: &str) -> Option<String> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

/// Base64 as text (empty when it is not base64).
fn decode(encoded: &str) -> String {
    let bytes = STANDARD.decode(encoded.trim()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}
