//! How a vote travels: one short TCP exchange of JSON lines, authenticated
//! both ways with HMAC-SHA256 over a fresh nonce of the voter's, so nobody
//! without the cluster's vote key can ask for or forge a vote, and an old
//! answer cannot be replayed.
//!
//! ```text
//! voter -> {"nonce": HEX}
//! asker -> {"body": REQUEST-JSON, "mac": HMAC(key, "request" nonce body)}
//! voter -> {"body": REPLY-JSON,   "mac": HMAC(key, "reply" nonce body)}
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::voter::{Reply, Request};

/// Where voters listen unless cluster.toml or witness.toml say otherwise.
pub const DEFAULT_PORT: u16 = 7406;
/// Longest line a peer may send (a request is far smaller).
const MAX_LINE: u64 = 64 * 1024;

#[derive(Serialize, Deserialize)]
struct Hello {
    nonce: String,
}

#[derive(Serialize, Deserialize)]
struct Signed {
    body: String,
    mac: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &[u8], label: &str, nonce: &str, body: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    for part in [label, nonce, body] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    Some(mac)
}

fn sign(key: &[u8], label: &str, nonce: &str, body: String) -> Option<Signed> {
    let tag = mac(key, label, nonce, &body)?.finalize().into_bytes();
    Some(Signed {
        body,
        mac: hex(&tag),
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks the tag in constant time.
fn verify(key: &[u8], label: &str, nonce: &str, signed: &Signed) -> bool {
    match (mac(key, label, nonce, &signed.body), unhex(&signed.mac)) {
        (Some(mac), Some(tag)) => mac.verify_slice(&tag).is_ok(),
        _ => false,
    }
}

fn read_line<T: for<'de> Deserialize<'de>>(
    reader: &mut BufReader<&TcpStream>,
) -> Result<T, String> {
    let mut line = String::new();
    let read = reader
        .by_ref()
        .take(MAX_LINE)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if read == 0 {
        return Err("connection closed".into());
    }
    serde_json::from_str(&line).map_err(|e| format!("unreadable message: {e}"))
}

fn write_line<T: Serialize>(mut stream: &TcpStream, value: &T) -> Result<(), String> {
    let mut text = serde_json::to_string(value).map_err(|e| e.to_string())?;
    text.push('\n');
    stream.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

/// Asks the voter at `address` (host:port); Err says why no answer came.
pub fn ask(
    address: &str,
    key: &[u8],
    request: &Request,
    timeout: Duration,
) -> Result<Reply, String> {
    let mut last = format!("{address}: no address");
    let addresses = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?;
    for socket in addresses {
        let stream = match TcpStream::connect_timeout(&socket, timeout) {
            Ok(stream) => stream,
            Err(err) => {
                last = format!("{address}: {err}");
                continue;
            }
        };
        return exchange(&stream, key, request, timeout).map_err(|e| format!("{address}: {e}"));
    }
    Err(last)
}

fn exchange(
    stream: &TcpStream,
    key: &[u8],
    request: &Request,
    timeout: Duration,
) -> Result<Reply, String> {
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    let hello: Hello = read_line(&mut reader)?;
    let body = serde_json::to_string(request).map_err(|e| e.to_string())?;
    let signed = sign(key, "request", &hello.nonce, body).ok_or("unusable vote key")?;
    write_line(stream, &signed)?;
    let answer: Signed = read_line(&mut reader)?;
    if !verify(key, "reply", &hello.nonce, &answer) {
        return Err("the answer is not signed with the cluster's vote key".into());
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("unreadable answer: {e}"))
}

/// Serves one connection: `decide` answers an authenticated request.
pub fn serve_one(
    stream: &TcpStream,
    key: &[u8],
    timeout: Duration,
    decide: impl FnOnce(&Request) -> Reply,
) -> Result<(), String> {
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let nonce: [u8; 16] = rand::random();
    let nonce = hex(&nonce);
    write_line(
        stream,
        &Hello {
            nonce: nonce.clone(),
        },
    )?;
    let mut reader = BufReader::new(stream);
    let signed: Signed = read_line(&mut reader)?;
    if !verify(key, "request", &nonce, &signed) {
        return Err("request not signed with the cluster's vote key: ignored".into());
    }
    let request: Request =
        serde_json::from_str(&signed.body).map_err(|e| format!("unreadable request: {e}"))?;
    let reply = decide(&request);
    let body = serde_json::to_string(&reply).map_err(|e| e.to_string())?;
    let answer = sign(key, "reply", &nonce, body).ok_or("unusable vote key")?;
    write_line(stream, &answer)
}

/// A new random vote key, as hex (what cluster.toml and witness.toml hold).
pub fn new_key() -> String {
    let key: [u8; 32] = rand::random();
    hex(&key)
}

/// The key's bytes from its hex form; Err names what is wrong.
pub fn key_bytes(text: &str) -> Result<Vec<u8>, String> {
    match unhex(text.trim()) {
        Some(bytes) if bytes.len() >= 16 => Ok(bytes),
        _ => Err("vote_key must be at least 32 hexadecimal digits".into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_in_background(key: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_one(&stream, &key, Duration::from_secs(2), |_| Reply::Granted {
                    lease_ms: 4000,
                });
            }
        });
        address
    }

    #[test]
    fn a_signed_request_gets_a_signed_answer() {
        let key = key_bytes(&new_key()).unwrap();
        let address = serve_in_background(key.clone());
        let reply = ask(&address, &key, &Request::Status, Duration::from_secs(2)).unwrap();
        assert_eq!(reply, Reply::Granted { lease_ms: 4000 });
    }

    #[test]
    fn a_wrong_key_gets_no_vote() {
        let address = serve_in_background(key_bytes(&new_key()).unwrap());
        let other = key_bytes(&new_key()).unwrap();
        assert!(ask(&address, &other, &Request::Status, Duration::from_secs(2)).is_err());
    }

    #[test]
    fn tags_bind_label_nonce_and_body() {
        let key = b"0123456789abcdef".to_vec();
        let signed = sign(&key, "request", "n1", "{}".into()).unwrap();
        assert!(verify(&key, "request", "n1", &signed));
        assert!(!verify(&key, "reply", "n1", &signed));
        assert!(!verify(&key, "request", "n2", &signed));
        assert!(key_bytes("abcd").is_err());
    }
}
