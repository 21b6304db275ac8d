//! rfc6455 next to tungstenite, fastwebsockets and tokio-websockets, on the very same bytes
//! and in the same run, so that the ratios are what to read (absolute numbers drift on a
//! shared machine). See ../README.md for what each line measures.
//!
//! ```text
//! cd benches/compare && cargo bench --bench compare
//! cargo bench --bench compare -- 'decode_binary/'          # one group
//! cargo bench --bench compare -- 'decode_binary/.*/16$'    # one size, every library
//! ```
//!
//! Decode lines get the same ~1 MiB of masked client frames (server role) through a
//! `MemStream`: an in-memory socket whose reads copy out of the pristine buffer, so every
//! library pays one copy into its own read buffer exactly as it would from a socket, and the
//! input is intact for the next iteration. `rfc6455_core` does the same with a plain 64 KiB
//! buffer (it has no I/O of its own). Encode lines write through each library's public send
//! path into the same `MemStream`, whose writes copy into a scratch buffer like a kernel send.

use std::hint::black_box;
use std::io::{IoSlice, Write};
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use rfc6455::mask::apply_mask;
use rfc6455::{Config, Connection, Event, MessageKind, Role};
use rfc6455_compare::{
    CHROMIUM_REQUEST, KEY, MemStream, TARGET_BYTES, ascii_payload, binary_payload, client_stream,
};
use tokio::runtime::Runtime;

const SIZES: [usize; 5] = [16, 125, 1 << 10, 16 << 10, 64 << 10];
/// rfc6455_core's read buffer (the adapters grow theirs up to 64 KiB too).
const READ_BUF: usize = 64 << 10;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn limits() -> Config {
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
}

/// The sans-IO core fed like a socket reader: copy into a 64 KiB buffer, `receive` until it
/// asks for more, move the unconsumed tail (at most a partial header) to the front.
#[inline]
fn rfc6455_core_decode(conn: &mut Connection, src: &[u8], buf: &mut [u8]) -> u64 {
    let mut taken = 0;
    let mut filled = 0;
    let mut messages = 0;
    loop {
        let n = (buf.len() - filled).min(src.len() - taken);
        buf[filled..filled + n].copy_from_slice(&src[taken..taken + n]);
        taken += n;
        filled += n;
        let mut pos = 0;
        loop {
            let received = conn.receive(&mut buf[pos..filled]).expect("valid input");
            pos += received.consumed;
            match received.event {
                None => break,
                Some(Event::Binary(p)) => {
                    black_box(p);
                    messages += 1;
                }
                Some(Event::Text(t)) => {
                    black_box(t);
                    messages += 1;
                }
                Some(Event::BinaryChunk { payload, fin } | Event::TextChunk { payload, fin }) => {
                    black_box(payload);
                    messages += fin as u64;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        buf.copy_within(pos..filled, 0);
        filled -= pos;
        if taken == src.len() && filled == 0 {
            return messages;
        }
    }
}

/// The floor: the same streaming copy with one `apply_mask` per chunk instead of decoding.
#[inline]
fn copy_unmask(src: &[u8], buf: &mut [u8]) {
    let mut taken = 0;
    while taken < src.len() {
        let n = buf.len().min(src.len() - taken);
        buf[..n].copy_from_slice(&src[taken..taken + n]);
        apply_mask(&mut buf[..n], KEY, taken);
        black_box(&buf[..n]);
        taken += n;
    }
}

fn decode_group(c: &mut Criterion, name: &str, opcode: u8, payload: fn(usize) -> Vec<u8>) {
    let rt = runtime();
    let mut group = c.benchmark_group(name);
    for size in SIZES {
        let (pristine, frames) = client_stream(opcode, &payload(size));
        group.throughput(Throughput::ElementsAndBytes {
            elements: frames,
            bytes: pristine.len() as u64,
        });

        let mut buf = vec![0u8; READ_BUF];
        group.bench_function(BenchmarkId::new("copy_unmask_floor", size), |b| {
            b.iter(|| copy_unmask(black_box(&pristine), &mut buf))
        });
        // The same in 16 KiB pieces, which stay in L1 between the copy and the unmask.
        let mut small = vec![0u8; 16 << 10];
        group.bench_function(BenchmarkId::new("copy_unmask_floor_16k", size), |b| {
            b.iter(|| copy_unmask(black_box(&pristine), &mut small))
        });

        let mut conn = Connection::new(Role::Server, limits());
        group.bench_function(BenchmarkId::new("rfc6455_core", size), |b| {
            b.iter(|| assert_eq!(rfc6455_core_decode(&mut conn, &pristine, &mut buf), frames))
        });

        // The tokio adapter: owned `Message` (one copy into a Vec/String per message).
        let (stream, handle) = MemStream::new(pristine.clone());
        let conn = Connection::new(Role::Server, limits());
        let mut ws = rfc6455::io::tokio::WebSocket::from_parts(stream, conn, &[]);
        group.bench_function(BenchmarkId::new("rfc6455_tokio", size), |b| {
            b.iter(|| {
                handle.rewind();
                rt.block_on(async {
                    for _ in 0..frames {
                        match ws.recv().await.unwrap().unwrap() {
                            rfc6455::Message::Binary(v) => black_box(v.len()),
                            rfc6455::Message::Text(t) => black_box(t.len()),
                            other => panic!("unexpected {other:?}"),
                        };
                    }
                });
                debug_assert!(handle.exhausted());
            })
        });

        // The blocking adapter over the same stream type.
        let (stream, handle) = MemStream::new(pristine.clone());
        let conn = Connection::new(Role::Server, limits());
        let mut ws = rfc6455::io::blocking::WebSocket::from_parts(stream, conn, &[]);
        group.bench_function(BenchmarkId::new("rfc6455_blocking", size), |b| {
            b.iter(|| {
                handle.rewind();
                for _ in 0..frames {
                    match ws.read().unwrap().unwrap() {
                        rfc6455::Message::Binary(v) => black_box(v.len()),
                        rfc6455::Message::Text(t) => black_box(t.len()),
                        other => panic!("unexpected {other:?}"),
                    };
                }
            })
        });

        // tungstenite: WebSocket over a Read + Write stream; Message holds `Bytes` split off
        // its read buffer (no payload copy).
        let (stream, handle) = MemStream::new(pristine.clone());
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            stream,
            tungstenite::protocol::Role::Server,
            None,
        );
        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| {
                handle.rewind();
                for _ in 0..frames {
                    match ws.read().unwrap() {
                        tungstenite::Message::Binary(v) => black_box(v.len()),
                        tungstenite::Message::Text(t) => black_box(t.len()),
                        other => panic!("unexpected {other:?}"),
                    };
                }
            })
        });

        // fastwebsockets: WebSocket::read_frame (frames, not reassembled messages; every
        // frame here is a whole message). The payload is a `BytesMut` split off its read
        // buffer (no copy); text is validated for FIN frames.
        let (stream, handle) = MemStream::new(pristine.clone());
        let mut ws =
            fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| {
                handle.rewind();
                rt.block_on(async {
                    for _ in 0..frames {
                        let frame = ws.read_frame().await.unwrap();
                        assert!(frame.fin);
                        black_box(&frame.payload[..]);
                    }
                })
            })
        });

        // tokio-websockets: its codec is private, so WebSocketStream (a futures Stream of
        // messages); payloads are `Bytes` split off its read buffer (no copy).
        let (stream, handle) = MemStream::new(pristine.clone());
        let mut ws = tokio_websockets::ServerBuilder::new().serve(stream);
        group.bench_function(BenchmarkId::new("tokio_websockets", size), |b| {
            b.iter(|| {
                handle.rewind();
                rt.block_on(async {
                    for _ in 0..frames {
                        let message = ws.next().await.unwrap().unwrap();
                        black_box(message.as_payload().len());
                    }
                })
            })
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    decode_group(c, "decode_binary", 0x2, binary_payload);
    decode_group(c, "decode_text_ascii", 0x1, ascii_payload);
}

fn encode(c: &mut Criterion) {
    let rt = runtime();
    for client in [true, false] {
        let name = if client {
            "encode_client"
        } else {
            "encode_server"
        };
        let mut group = c.benchmark_group(name);
        for size in SIZES {
            let payload = binary_payload(size);
            let shared = Bytes::from(payload.clone());
            let count = (TARGET_BYTES / (size + 14)).clamp(1, 1024) as u64;
            let wire = size + rfc6455::frame::header_len(size as u64, client);
            group.throughput(Throughput::ElementsAndBytes {
                elements: count,
                bytes: count * wire as u64,
            });

            // The core: frame appended to a reused Vec, then one write to the stream.
            let role = if client { Role::Client } else { Role::Server };
            let mut conn = Connection::new(role, Config::default());
            let (mut sink, handle) = MemStream::new(Vec::new());
            let mut out = Vec::with_capacity(wire);
            group.bench_function(BenchmarkId::new("rfc6455_core", size), |b| {
                b.iter(|| {
                    for _ in 0..count {
                        out.clear();
                        conn.send_binary(black_box(&payload), &mut out).unwrap();
                        sink.write_all(&out).unwrap();
                    }
                    assert_eq!(handle.take_written(), count * wire as u64);
                })
            });

            // The core's zero-copy server path: header + the caller's payload, vectored.
            if !client {
                group.bench_function(BenchmarkId::new("rfc6455_core_vectored", size), |b| {
                    b.iter(|| {
                        for _ in 0..count {
                            let h = conn
                                .encode_header(MessageKind::Binary, size as u64, true)
                                .unwrap();
                            // MemStream writes everything it is given.
                            let n = sink
                                .write_vectored(&[
                                    IoSlice::new(h.as_bytes()),
                                    IoSlice::new(black_box(&payload)),
                                ])
                                .unwrap();
                            debug_assert_eq!(n, wire);
                        }
                        assert_eq!(handle.take_written(), count * wire as u64);
                    })
                });
            }

            // The tokio adapter: `Message::Binary` owns a Vec, which the application made
            // (like the peers' `Bytes`) before sending it: the Vecs are made outside the
            // timing. A server sends payloads of 16 KiB and more vectored, without a copy.
            let (stream, handle) = MemStream::new(Vec::new());
            let mut ws = rfc6455::io::tokio::WebSocket::from_parts(
                stream,
                Connection::new(role, Config::default()),
                &[],
            );
            group.bench_function(BenchmarkId::new("rfc6455_tokio", size), |b| {
                b.iter_batched(
                    || {
                        (0..count)
                            .map(|_| rfc6455::Message::Binary(payload.clone()))
                            .collect::<Vec<_>>()
                    },
                    |messages| {
                        rt.block_on(async {
                            for message in messages {
                                ws.send(black_box(message)).await.unwrap();
                            }
                        });
                        assert_eq!(handle.take_written(), count * wire as u64);
                    },
                    BatchSize::PerIteration,
                )
            });

            // The blocking adapter: send(Message) (copies), and for a server the vectored
            // path from a borrowed slice.
            let (stream, handle) = MemStream::new(Vec::new());
            let mut ws = rfc6455::io::blocking::WebSocket::from_parts(
                stream,
                Connection::new(role, Config::default()),
                &[],
            );
            group.bench_function(BenchmarkId::new("rfc6455_blocking", size), |b| {
                b.iter(|| {
                    for _ in 0..count {
                        if client {
                            ws.send(rfc6455::Message::Binary(black_box(&payload).to_vec()))
                                .unwrap();
                        } else {
                            ws.send_binary_vectored(black_box(&payload)).unwrap();
                        }
                    }
                    assert_eq!(handle.take_written(), count * wire as u64);
                })
            });

            // tungstenite: send(Message::Binary(Bytes)), the Bytes a refcount clone; the frame
            // is formatted (and masked) into its write buffer, then written.
            let (stream, handle) = MemStream::new(Vec::new());
            let t_role = if client {
                tungstenite::protocol::Role::Client
            } else {
                tungstenite::protocol::Role::Server
            };
            let mut ws = tungstenite::WebSocket::from_raw_socket(stream, t_role, None);
            group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
                b.iter(|| {
                    for _ in 0..count {
                        ws.send(tungstenite::Message::Binary(shared.clone()))
                            .unwrap();
                    }
                    assert_eq!(handle.take_written(), count * wire as u64);
                })
            });

            // fastwebsockets: write_frame with a borrowed payload. A client's frame is masked
            // in an owned copy (Payload::to_mut); payloads over 1 KiB go out vectored.
            let (stream, handle) = MemStream::new(Vec::new());
            let f_role = if client {
                fastwebsockets::Role::Client
            } else {
                fastwebsockets::Role::Server
            };
            let mut ws = fastwebsockets::WebSocket::after_handshake(stream, f_role);
            group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
                b.iter(|| {
                    rt.block_on(async {
                        for _ in 0..count {
                            let frame = fastwebsockets::Frame::binary(
                                fastwebsockets::Payload::Borrowed(black_box(&payload)),
                            );
                            ws.write_frame(frame).await.unwrap();
                        }
                    });
                    assert_eq!(handle.take_written(), count * wire as u64);
                })
            });

            // tokio-websockets: Sink::send(Message::binary(Bytes)) (queue + flush). Server
            // frames go out vectored without a copy; a client's payload is copied and masked.
            let (stream, handle) = MemStream::new(Vec::new());
            let mut ws = if client {
                tokio_websockets::ClientBuilder::new().take_over(stream)
            } else {
                tokio_websockets::ServerBuilder::new().serve(stream)
            };
            group.bench_function(BenchmarkId::new("tokio_websockets", size), |b| {
                b.iter(|| {
                    rt.block_on(async {
                        for _ in 0..count {
                            ws.send(tokio_websockets::Message::binary(shared.clone()))
                                .await
                                .unwrap();
                        }
                    });
                    assert_eq!(handle.take_written(), count * wire as u64);
                })
            });
        }
        group.finish();
    }
}

fn handshake(c: &mut Criterion) {
    use rfc6455::handshake::{ServerConfig, ServerHandshake};

    let rt = runtime();
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));

    // The sans-IO core: parse + answer into a reused Vec; no stream, no WebSocket object.
    let config = ServerConfig::default();
    let mut out = Vec::with_capacity(256);
    group.bench_function("rfc6455_core", |b| {
        b.iter(|| {
            out.clear();
            let mut hs = ServerHandshake::new(&config);
            let _ = hs.receive(black_box(CHROMIUM_REQUEST)).unwrap();
            let request = hs.request().unwrap();
            config.accept(&request, &mut out).unwrap();
            black_box(&out);
        })
    });

    // Full accepts over a fresh MemStream: read the request, write the response, build the
    // WebSocket object (buffers included).
    let acceptor = rfc6455::io::tokio::Acceptor::default();
    group.bench_function("rfc6455_tokio_accept", |b| {
        b.iter(|| {
            let ws = rt
                .block_on(acceptor.accept(MemStream::from_static(CHROMIUM_REQUEST)))
                .unwrap();
            black_box(ws);
        })
    });

    group.bench_function("rfc6455_blocking_accept", |b| {
        b.iter(|| {
            let ws =
                rfc6455::io::blocking::accept(MemStream::from_static(CHROMIUM_REQUEST)).unwrap();
            black_box(ws);
        })
    });

    group.bench_function("tungstenite_accept", |b| {
        b.iter(|| {
            let ws = tungstenite::accept(MemStream::from_static(CHROMIUM_REQUEST)).unwrap();
            black_box(ws);
        })
    });

    let builder = tokio_websockets::ServerBuilder::new();
    group.bench_function("tokio_websockets_accept", |b| {
        b.iter(|| {
            let ws = rt
                .block_on(builder.accept(MemStream::from_static(CHROMIUM_REQUEST)))
                .unwrap();
            black_box(ws);
        })
    });

    // fastwebsockets has no handshake parser of its own: its server side is
    // `upgrade::upgrade` on a hyper request, so this is hyper's HTTP/1 connection over the
    // stream plus the upgrade, as in fastwebsockets' examples.
    group.bench_function("fastwebsockets_hyper_accept", |b| {
        b.iter(|| {
            let ws = rt.block_on(fastwebsockets_accept(MemStream::from_static(
                CHROMIUM_REQUEST,
            )));
            black_box(ws);
        })
    });
    group.finish();
}

async fn fastwebsockets_accept(
    stream: MemStream,
) -> fastwebsockets::WebSocket<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>> {
    use std::cell::RefCell;
    use std::rc::Rc;

    let slot: Rc<RefCell<Option<fastwebsockets::upgrade::UpgradeFut>>> = Default::default();
    let service_slot = slot.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let slot = service_slot.clone();
            async move {
                let (response, fut) = fastwebsockets::upgrade::upgrade(&mut req)?;
                *slot.borrow_mut() = Some(fut);
                Ok::<_, fastwebsockets::WebSocketError>(response)
            }
        });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .with_upgrades()
        .await
        .unwrap();
    let fut = slot.borrow_mut().take().unwrap();
    fut.await.unwrap()
}

fn config() -> Criterion {
    // Short runs by default (the machine is shared); override with --measurement-time.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = decode, encode, handshake }
criterion_main!(benches);
