//! A minimal HTTP/1.1 endpoint for scrapers: `GET /metrics` answers the last
//! published page, `/` points there, anything else is 404 (405 for another
//! method). It runs on a thread of its own and never waits on the daemon's
//! checks: a scrape during a takeover gets the page of the last check.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::exposition::CONTENT_TYPE;
use crate::{Error, Result};

/// A slow or silent client is dropped after this long.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request head read.
const MAX_HEAD: usize = 8192;

/// The listening endpoint and its page.
pub struct Endpoint {
    page: Arc<Mutex<String>>,
    address: String,
}

impl Endpoint {
    /// Binds `address` (host:port) and serves on a thread of its own.
    pub fn start(address: &str) -> Result<Endpoint> {
        let listener = TcpListener::bind(address).map_err(|e| {
            Error::Config {
                path: crate::daemon::config::DEFAULT_PATH.into(),
                message: format!(
                    "[metrics]: cannot listen on {address}: {e}; set address, port or enabled = false there"
                ),
            }
        })?;
        let bound = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| address.to_string());
        let page = Arc::new(Mutex::new(String::new()));
        let serving = page.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // One client at a time is plenty for scrapers; the timeouts
                // keep a stuck one from holding the others for long.
                let _ = answer(stream, &serving);
            }
        });
        Ok(Endpoint {
            page,
            address: bound,
        })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Replaces the page scrapers get.
    pub fn publish(&self, text: String) {
        *self.page.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }
}

fn answer(mut stream: TcpStream, page: &Mutex<String>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let head = read_head(&mut stream)?;
    let request_line = head.lines().next().unwrap_or_default();
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default();
    let target = words.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            CONTENT_TYPE,
            page.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        ),
        ("GET" | "HEAD", "/") => (
            "200 OK",
            "text/plain; charset=utf-8",
            "mysql-ha cluster daemon: metrics at /metrics\n".to_string(),
        ),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: metrics are at /metrics\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET is served\n".to_string(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

/// The request up to its blank line (a scrape has no body).
fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request(address: &str, head: &str) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[test]
    fn serves_the_last_published_page_on_get_metrics_only() {
        let endpoint = Endpoint::start("127.0.0.1:0").unwrap();
        let address = endpoint.address().to_string();
        endpoint.publish("x_up 1\n".into());
        let reply = request(&address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")));
        assert!(reply.ends_with("\r\n\r\nx_up 1\n"), "{reply}");
        endpoint.publish("x_up 0\n".into());
        let reply = request(&address, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(reply.ends_with("\r\n\r\nx_up 0\n"), "{reply}");
        let reply = request(&address, "GET /other HTTP/1.1\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 404 "), "{reply}");
        let reply = request(&address, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 405 "), "{reply}");
        let reply = request(&address, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(
            reply.ends_with("Content-Length: 7\r\nConnection: close\r\n\r\n"),
            "{reply}"
        );
    }

    #[test]
    fn a_taken_port_is_an_error_naming_the_address_and_the_keys() {
        let first = Endpoint::start("127.0.0.1:0").unwrap();
        let err = Endpoint::start(first.address()).err().unwrap().to_string();
        assert!(err.contains(first.address()), "{err}");
        assert!(err.contains("[metrics]"), "{err}");
    }
}
