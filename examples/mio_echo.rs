//! The sans-IO core in a foreign event loop: a single-threaded `mio` echo server that
//! uses neither of this crate's adapters — only `ServerHandshake`, `ServerConfig` and
//! `Connection`. This is what embedding the core in another network stack looks like.
//!
//! ```text
//! cargo run --release --example mio_echo [ADDR]      # default 127.0.0.1:9003
//! ```

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rfc6455::handshake::{ServerConfig, ServerHandshake};
use rfc6455::{Config, Connection, Event, Message, MessageAssembler, Status};

const LISTENER: Token = Token(0);

/// One client: its socket, then either a handshake in progress or an open connection.
struct Client {
    socket: TcpStream,
    phase: Phase,
    /// Bytes read and not yet consumed.
    input: Vec<u8>,
    /// Bytes to write.
    output: Vec<u8>,
}

enum Phase {
    Handshake(ServerHandshake),
    Open(Box<Connection>, MessageAssembler),
    Done,
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let mut listener = TcpListener::bind(addr.parse().expect("ADDR"))?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    eprintln!("mio_echo listening on ws://{}", listener.local_addr()?);

    let policy = ServerConfig::default();
    let limits = Config::default()
        .max_message_size(16 << 20)
        .max_frame_size(16 << 20)
        .max_fragments(1 << 20);
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut next = 1;
    let mut events = Events::with_capacity(256);
    loop {
        poll.poll(&mut events, None)?;
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut socket, _)) => {
                            let token = Token(next);
                            next += 1;
                            poll.registry().register(
                                &mut socket,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            let phase = Phase::Handshake(ServerHandshake::new(&policy));
                            let client = Client {
                                socket,
                                phase,
                                input: Vec::new(),
                                output: Vec::new(),
                            };
                            clients.insert(token, client);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let token = event.token();
            let Some(client) = clients.get_mut(&token) else {
                continue;
            };
            let alive = client.drive(&policy, &limits);
            if !alive {
                let mut client = clients.remove(&token).expect("present");
                poll.registry().deregister(&mut client.socket)?;
            }
        }
    }
}

impl Client {
    /// Reads what is available, runs the core, writes what it produced. Returns whether
    /// the connection should stay open. Edge-triggered: read and write until WouldBlock.
    fn drive(&mut self, policy: &ServerConfig, limits: &Config) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let mut eof = false;
        loop {
            match self.socket.read(&mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        self.process(policy, limits, eof);
        loop {
            if self.output.is_empty() {
                break;
            }
            match self.socket.write(&self.output) {
                Ok(n) => {
                    self.output.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        match &self.phase {
            Phase::Done => false,
            Phase::Open(conn, _) => !conn.poll_close_transport(),
            Phase::Handshake(_) => !eof,
        }
    }

    /// The sans-IO part: bytes in, bytes out.
    fn process(&mut self, policy: &ServerConfig, limits: &Config, eof: bool) {
        if let Phase::Handshake(handshake) = &mut self.phase {
            match handshake.receive(&self.input) {
                Ok(Status::Partial) => {
                    self.input.clear();
                    return;
                }
                Ok(Status::Complete(())) => {
                    let request = handshake.request().expect("complete");
                    let Ok(accepted) = policy.accept(&request, &mut self.output) else {
                        self.phase = Phase::Done;
                        return;
                    };
                    let (conn, leftover) = accepted.into_connection(limits.clone());
                    self.input = leftover;
                    let conn = Box::new(conn);
                    self.phase = Phase::Open(conn, MessageAssembler::new());
                }
                Err(e) => {
                    e.write_response(&mut self.output);
                    self.phase = Phase::Done;
                    return;
                }
            }
        }
        let Phase::Open(conn, assembler) = &mut self.phase else {
            return;
        };
        let mut pos = 0;
        while pos < self.input.len() {
            match conn.receive(&mut self.input[pos..]) {
                Ok(received) => {
                    pos += received.consumed;
                    let Some(event) = received.event else { break };
                    // A pong for a ping goes out before anything sent in response to
                    // later input.
                    conn.poll_transmit(&mut self.output);
                    // Whole messages can be echoed straight from the input buffer.
                    let echoed = match event {
                        Event::Text(text) => conn.send_text(text, &mut self.output),
                        Event::Binary(data) => conn.send_binary(data, &mut self.output),
                        other => match assembler.push(other) {
                            Some(Message::Text(text)) => conn.send_text(&text, &mut self.output),
                            Some(Message::Binary(data)) => {
                                conn.send_binary(&data, &mut self.output)
                            }
                            _ => Ok(()),
                        },
                    };
                    if echoed.is_err() {
                        break;
                    }
                }
                Err(error) => {
                    eprintln!("protocol error: {error}");
                    break;
                }
            }
        }
        self.input.drain(..pos);
        if eof {
            conn.receive_eof();
        }
        // Pongs, the Close reply, or the Close that reports a protocol error.
        conn.poll_transmit(&mut self.output);
    }
}
