//! Echo client: connects to URL and sends back every text and binary message it receives,
//! until the server closes. Exits 0 after a clean close handshake, 1 otherwise.
//!
//! ```text
//! cargo run --release --example echo_client ws://127.0.0.1:9001/path
//! ```

use rfc6455::Message;
use rfc6455::io::tokio as ws;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: echo_client URL");
        std::process::exit(2);
    };
    let request = match rfc6455::handshake::ClientRequest::from_url(&url) {
        Ok(request) => request.deflate(rfc6455::deflate::DeflateConfig::default()),
        Err(e) => {
            eprintln!("{url}: {e}");
            std::process::exit(2);
        }
    };
    let (mut socket, response) = match ws::connect_with(&request, Default::default()).await {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("connect {url}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("connected to {url} (protocol {:?})", response.protocol);
    let mut echoed = 0u64;
    let result = loop {
        match socket.recv().await {
            Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                echoed += 1;
                if let Err(e) = socket.send(message).await {
                    break Err(e);
                }
            }
            Ok(Some(Message::Close { code, reason })) => {
                eprintln!("server closed: {code} {reason:?}");
            }
            Ok(Some(_)) => {}
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    match result {
        Ok(()) => eprintln!("echoed {echoed} messages; closed cleanly"),
        Err(e) => {
            eprintln!("echoed {echoed} messages; {e}");
            std::process::exit(1);
        }
    }
}
