//! A Rust backend that answers only requests with a valid access token: std and extension-sso only.
//!
//!   JWKS_FILE=jwks.json ISSUER=https://login.example AUDIENCE=https://api.my-extension.example \
//!   ADDR=127.0.0.1:8080 cargo run
//!
//! It reads the identity provider's JWK Set from a file; a long-running service fetches it from the
//! provider's `jwks_uri` with its HTTP client and builds a new `Verifier` when the set changes.
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use extension_sso::jose::{Audience, KeySet, Verifier, VerifyOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let keys = KeySet::from_json(&std::fs::read_to_string(env("JWKS_FILE")?)?)?;
    let options = VerifyOptions::new([env("ISSUER")?], Audience::one_of([env("AUDIENCE")?]))?;
    let verifier = Arc::new(Verifier::new(keys, options));

    let listener = TcpListener::bind(env("ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into()))?;
    println!("listening on http://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let (stream, verifier) = (stream?, Arc::clone(&verifier));
        std::thread::spawn(move || {
            if let Err(error) = answer(stream, &verifier) {
                eprintln!("request failed: {error}");
            }
        });
    }
    Ok(())
}

/// Reads one request's head and answers the token's verified claims, or 401.
fn answer(mut stream: TcpStream, verifier: &Verifier) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (mut line, mut token) = (String::new(), String::new());
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break; // the end of the head
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                token = value
                    .trim()
                    .strip_prefix("Bearer ")
                    .unwrap_or_default()
                    .to_owned();
            }
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (status, extra, body) = match verifier.verify(&token, now) {
        Ok(verified) => ("200 OK", "", verified.into_payload_json()),
        Err(error) => (
            "401 Unauthorized",
            "www-authenticate: Bearer error=\"invalid_token\"\r\n",
            format!(
                r#"{{"error":"invalid_token","reason":"{}"}}"#,
                error.code().as_str()
            ),
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
        body.len()
    )
}
