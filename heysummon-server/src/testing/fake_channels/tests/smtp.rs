use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::WAIT;
use crate::testing::fake_channels::{Mail, SmtpSink};

/// A hand-driven SMTP client.
struct Client {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Client {
    async fn connect(sink: &SmtpSink) -> Self {
        let addr = sink.url().strip_prefix("smtp://").unwrap().to_owned();
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut client = Self {
            read: BufReader::new(read),
            write,
        };
        assert!(client.reply().await.starts_with("220 "));
        client
    }

    /// The next reply, every line of a multi-line one joined by `\n`.
    async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert_ne!(
                self.read.read_line(&mut line).await.unwrap(),
                0,
                "connection closed"
            );
            let line = line.trim_end().to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    async fn send(&mut self, line: &str) -> String {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }
}

const MESSAGE: &str = "From: HeySummon <pager@example.com>\r\n\
    To: alice@example.com\r\n\
    Subject: =?utf-8?b?UXVlc3Rpb24g4oCU?= HS-1234\r\n\
    MIME-Version: 1.0\r\n\
    Content-Type: multipart/alternative;\r\n boundary=\"XYZ\"\r\n\
    \r\n\
    --XYZ\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    Content-Transfer-Encoding: quoted-printable\r\n\
    \r\n\
    May I deploy? caf=C3=A9 =\r\n\
    soft break\r\n\
    ..leading dot\r\n\
    --XYZ\r\n\
    Content-Type: text/html; charset=utf-8\r\n\
    Content-Transfer-Encoding: base64\r\n\
    \r\n\
    PHA+TWF5IEkgZGVwbG95PzwvcD4=\r\n\
    --XYZ--\r\n";

#[tokio::test]
async fn accepts_a_message_from_a_hand_written_dialogue() {
    let sink = SmtpSink::start().await;
    let mut client = Client::connect(&sink).await;
    assert!(
        client
            .send("MAIL FROM:<pager@example.com>")
            .await
            .starts_with("503")
    );
    let ehlo = client.send("EHLO test.local").await;
    assert!(
        ehlo.contains("250-AUTH PLAIN LOGIN") || ehlo.contains("250 AUTH PLAIN LOGIN"),
        "{ehlo}"
    );
    assert!(!ehlo.contains("STARTTLS"));
    // AUTH PLAIN with an initial response: "\0pager\0secret".
    assert!(
        client
            .send("AUTH PLAIN AHBhZ2VyAHNlY3JldA==")
            .await
            .starts_with("235")
    );
    assert!(client.send("DATA").await.starts_with("503"));
    assert!(
        client
            .send("MAIL FROM:<pager@example.com> BODY=8BITMIME")
            .await
            .starts_with("250")
    );
    assert!(
        client
            .send("RCPT TO:<alice@example.com>")
            .await
            .starts_with("250")
    );
    assert!(
        client
            .send("RCPT TO:<bob@example.com>")
            .await
            .starts_with("250")
    );
    assert!(client.send("NOOP").await.starts_with("250"));
    assert!(client.send("DATA").await.starts_with("354"));
    client.write.write_all(MESSAGE.as_bytes()).await.unwrap();
    assert!(client.send(".").await.starts_with("250"));
    assert!(client.send("QUIT").await.starts_with("221"));

    let mails = sink.wait_for(1, WAIT).await;
    let mail: &Mail = &mails[0];
    assert_eq!(mail.from, "pager@example.com");
    assert_eq!(mail.to, ["alice@example.com", "bob@example.com"]);
    assert_eq!(mail.user.as_deref(), Some("pager"));
    // Dot-unstuffed, otherwise as sent.
    assert_eq!(mail.data, MESSAGE.replace("..leading", ".leading"));
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Question — HS-1234")
    );
    assert_eq!(mail.header("TO").as_deref(), Some("alice@example.com"));
    assert_eq!(
        mail.text_body().as_deref(),
        Some("May I deploy? café soft break\r\n.leading dot")
    );
    assert_eq!(mail.html_body().as_deref(), Some("<p>May I deploy?</p>"));
    assert_eq!(mail.parts().len(), 2);
}

#[tokio::test]
async fn fail_next_refuses_data_then_recovers() {
    let sink = SmtpSink::start().await;
    sink.fail_next(1);
    let mut client = Client::connect(&sink).await;
    assert!(client.send("HELO test.local").await.starts_with("250"));
    // AUTH LOGIN, step by step.
    assert_eq!(client.send("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
    assert_eq!(client.send("cGFnZXI=").await, "334 UGFzc3dvcmQ6");
    assert!(client.send("c2VjcmV0").await.starts_with("235"));
    assert!(
        client
            .send("MAIL FROM:<a@example.com>")
            .await
            .starts_with("250")
    );
    assert!(
        client
            .send("RCPT TO:<b@example.com>")
            .await
            .starts_with("250")
    );
    assert!(client.send("DATA").await.starts_with("451"));
    assert!(client.send("RSET").await.starts_with("250"));
    assert!(
        client
            .send("MAIL FROM:<a@example.com>")
            .await
            .starts_with("250")
    );
    assert!(
        client
            .send("RCPT TO:<b@example.com>")
            .await
            .starts_with("250")
    );
    assert!(client.send("DATA").await.starts_with("354"));
    client
        .write
        .write_all(b"Subject: hi\r\n\r\nbody\r\n")
        .await
        .unwrap();
    assert!(client.send(".").await.starts_with("250"));
    assert!(client.send("BOGUS").await.starts_with("502"));
    assert!(client.send("QUIT").await.starts_with("221"));

    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(sink.attempts(), 2);
    assert_eq!(mails[0].user.as_deref(), Some("pager"));
    assert_eq!(mails[0].data, "Subject: hi\r\n\r\nbody\r\n");
    assert_eq!(mails[0].text_body().as_deref(), Some("body\r\n"));
}

#[tokio::test]
#[should_panic(expected = "SMTP sink: 1 messages")]
async fn wait_for_panics_when_nothing_arrives() {
    let sink = SmtpSink::start().await;
    sink.wait_for(1, std::time::Duration::from_millis(50)).await;
}
