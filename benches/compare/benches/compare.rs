//! rfc6455 next to tungstenite, fastwebsockets, tokio-websockets and soketto, on the very
//! same bytes, in the same run, interleaved — reported as ratios, like with like:
//!
//! * **adapter vs adapter**: what users call. rfc6455's tokio and blocking adapters
//!   against the peers' WebSocket types (tungstenite's blocking `WebSocket`,
//!   fastwebsockets' `WebSocket`, tokio-websockets' `WebSocketStream`, soketto's
//!   `Sender`/`Receiver`), each over the same in-memory socket.
//! * **core vs core**: the lowest level each library offers. rfc6455's sans-IO
//!   `Connection` (payloads lent out of a 64 KiB buffer) and `MessageReader` (whole
//!   messages as `Bytes`) against soketto's `base::Codec` (frame headers and masking on a
//!   buffer) and tungstenite's `FrameSocket` (frames, no message logic).
//!
//! Every line of a group runs in each of `ROUNDS` rounds, in a rotated order, and a ratio
//! is the median over rounds of the ratio within a round: drift on a shared machine hits
//! both sides of a ratio alike. Results go to stdout as tables and to
//! `target/compare/results.json` (for `table.py` and `chart.py`).
//!
//! ```text
//! cd benches/compare && taskset -c 1 cargo bench --bench compare
//! ROUNDS=5 FILTER=decode_binary cargo bench --bench compare
//! ```

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455::mask::apply_mask;
use rfc6455::{Config, Connection, Event, MessageReader, PreparedMessage, Role};
use rfc6455_compare::{
    CHROMIUM_REQUEST, KEY, MemHandle, MemStream, TARGET_BYTES, ascii_payload, binary_payload,
    client_stream, mixed_payload,
};
use tokio::runtime::Runtime;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

const SIZES: [usize; 6] = [16, 125, 1 << 10, 16 << 10, 64 << 10, 1 << 20];
/// The read buffer of the core lines.
const READ_BUF: usize = 64 << 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Floor,
    Core,
    /// An async adapter (tokio, or futures over tokio).
    Async,
    /// A blocking adapter (`std::io::Read + Write`).
    Blocking,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Floor => "floor",
            Level::Core => "core",
            Level::Async => "async",
            Level::Blocking => "blocking",
        }
    }
}

/// One line of a group: a library at a level, and one iteration of the workload.
struct Line<'a> {
    name: &'static str,
    level: Level,
    run: Box<dyn FnMut() + 'a>,
}

fn line<'a>(name: &'static str, level: Level, run: impl FnMut() + 'a) -> Line<'a> {
    Line {
        name,
        level,
        run: Box::new(run),
    }
}

fn ours(name: &str) -> bool {
    name.starts_with("rfc6455")
}

/// What a group measured, for the JSON file.
struct Row {
    group: String,
    size: String,
    name: &'static str,
    level: Level,
    ns: f64,
    elements: u64,
    bytes: u64,
    /// For our lines: the median over rounds of the best same-level peer's time over ours.
    ratio: Option<f64>,
    ratio_min: Option<f64>,
    ratio_max: Option<f64>,
    /// For decode lines: the floor's time over ours.
    vs_floor: Option<f64>,
}

struct Bench {
    rounds: usize,
    filter: Option<String>,
    sample: Duration,
    rows: Vec<Row>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Bench {
    fn wants(&self, group: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| group.contains(f))
    }

    /// Runs `lines` interleaved for `rounds` rounds and records them.
    fn group(&mut self, group: &str, size: &str, elements: u64, bytes: u64, mut lines: Vec<Line<'_>>) {
        // Warm up, and find how many iterations make a sample of `self.sample`.
        let mut iters = Vec::new();
        for l in &mut lines {
            (l.run)();
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < self.sample / 4 || n == 0 {
                (l.run)();
                n += 1;
            }
            let per = start.elapsed().as_secs_f64() / n as f64;
            iters.push(((self.sample.as_secs_f64() / per) as u64).max(1));
        }
        let mut times = vec![Vec::new(); lines.len()];
        for round in 0..self.rounds {
            for k in 0..lines.len() {
                let i = (k + round) % lines.len();
                let start = Instant::now();
                for _ in 0..iters[i] {
                    (lines[i].run)();
                }
                times[i].push(start.elapsed().as_nanos() as f64 / iters[i] as f64);
            }
        }
        let floor = lines.iter().position(|l| l.level == Level::Floor);
        for (i, l) in lines.iter().enumerate() {
            let ns = median(&mut times[i].clone());
            let (mut ratio, mut ratio_min, mut ratio_max, mut vs_floor) = (None, None, None, None);
            if ours(l.name) && l.level != Level::Floor {
                let peers: Vec<usize> = (0..lines.len())
                    .filter(|&j| !ours(lines[j].name) && lines[j].level == l.level)
                    .collect();
                if !peers.is_empty() {
                    let mut per_round: Vec<f64> = (0..self.rounds)
                        .map(|r| {
                            let best = peers.iter().map(|&j| times[j][r]).fold(f64::MAX, f64::min);
                            best / times[i][r]
                        })
                        .collect();
                    ratio_min = per_round.iter().copied().reduce(f64::min);
                    ratio_max = per_round.iter().copied().reduce(f64::max);
                    ratio = Some(median(&mut per_round));
                }
                if let Some(f) = floor {
                    let mut per_round: Vec<f64> =
                        (0..self.rounds).map(|r| times[f][r] / times[i][r]).collect();
                    vs_floor = Some(median(&mut per_round));
                }
            }
            self.rows.push(Row {
                group: group.into(),
                size: size.into(),
                name: l.name,
                level: l.level,
                ns,
                elements,
                bytes,
                ratio,
                ratio_min,
                ratio_max,
                vs_floor,
            });
        }
        self.print_last(group, size, lines.len());
    }

    fn print_last(&self, group: &str, size: &str, n: usize) {
        let rows = &self.rows[self.rows.len() - n..];
        println!("{group} {size}");
        for r in rows {
            let rate = if r.elements > 1 {
                format!("{:>9.2} M/s", r.elements as f64 / r.ns * 1e3)
            } else {
                format!("{:>9.2} µs", r.ns / 1e3)
            };
            let gib = if r.bytes > 0 {
                format!("{:>7.2} GiB/s", r.bytes as f64 / r.ns * 1e9 / (1u64 << 30) as f64)
            } else {
                String::new()
            };
            let ratio = r.ratio.map_or(String::new(), |x| {
                format!(
                    "  {x:.2}× best {} peer [{:.2}–{:.2}]",
                    r.level.name(),
                    r.ratio_min.unwrap_or(x),
                    r.ratio_max.unwrap_or(x)
                )
            });
            let floor = r.vs_floor.map_or(String::new(), |x| format!("  {x:.2} of floor"));
            println!("  {:<8} {:<28} {rate} {gib}{ratio}{floor}", r.level.name(), r.name);
        }
    }

    fn write_json(&self) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/compare");
        std::fs::create_dir_all(&dir).unwrap();
        let mut out = String::from("[\n");
        let opt = |x: Option<f64>| x.map_or("null".to_string(), |v| format!("{v:.4}"));
        for (i, r) in self.rows.iter().enumerate() {
            out += &format!(
                "  {{\"group\": \"{}\", \"size\": \"{}\", \"line\": \"{}\", \"level\": \"{}\", \
                 \"ns\": {:.1}, \"elements\": {}, \"bytes\": {}, \"ratio\": {}, \"ratio_min\": {}, \
                 \"ratio_max\": {}, \"vs_floor\": {}}}{}\n",
                r.group,
                r.size,
                r.name,
                r.level.name(),
                r.ns,
                r.elements,
                r.bytes,
                opt(r.ratio),
                opt(r.ratio_min),
                opt(r.ratio_max),
                opt(r.vs_floor),
                if i + 1 < self.rows.len() { "," } else { "" }
            );
        }
        out += "]\n";
        let path = dir.join("results.json");
        std::fs::write(&path, out).unwrap();
        println!("\nresults: {}", path.display());
    }
}

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

// ---------------------------------------------------------------------------------------
// Decode: the server's side of ~1 MiB of masked client frames.

/// The sans-IO core fed like a socket reader: copy into a 64 KiB buffer, `receive` until it
/// asks for more, move the unconsumed tail (at most a partial header) to the front.
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

/// `MessageReader`: reads (copies, as from a socket) into the room it offers, at most 64
/// KiB at a time; whole messages come out as `Bytes` split off its buffer.
fn rfc6455_reader_decode(conn: &mut Connection, reader: &mut MessageReader, src: &[u8]) -> u64 {
    let mut taken = 0;
    let mut messages = 0;
    loop {
        while let Some(m) = reader.poll_message(conn).expect("valid input") {
            black_box(m);
            messages += 1;
        }
        if taken == src.len() {
            return messages;
        }
        let mut buf = reader.read_buf();
        let n = rfc6455_compare::room(&buf).min(READ_BUF).min(src.len() - taken);
        bytes::BufMut::put_slice(&mut buf, &src[taken..taken + n]);
        taken += n;
    }
}

/// soketto's `base::Codec`: frame headers decoded from a buffer, payloads unmasked in
/// place; a frame is taken whole (the buffer grows to hold a large one), as its own
/// connection does.
fn soketto_core_decode(codec: &soketto::base::Codec, src: &[u8], buf: &mut Vec<u8>) -> u64 {
    let mut taken = 0;
    let mut messages = 0;
    buf.clear();
    loop {
        let mut pos = 0;
        loop {
            match codec.decode_header(&buf[pos..]).expect("valid header") {
                soketto::Parsing::Done { value: header, offset } => {
                    let len = header.payload_len();
                    let start = pos + offset;
                    if buf.len() - start < len {
                        // Room for the whole frame.
                        buf.reserve(len);
                        break;
                    }
                    soketto::base::Codec::apply_mask(&header, &mut buf[start..start + len]);
                    black_box(&buf[start..start + len]);
                    messages += 1;
                    pos = start + len;
                }
                soketto::Parsing::NeedMore(_) => break,
            }
        }
        buf.drain(..pos);
        if taken == src.len() && buf.is_empty() {
            return messages;
        }
        let n = (buf.capacity().max(READ_BUF) - buf.len()).max(1).min(src.len() - taken);
        buf.extend_from_slice(&src[taken..taken + n]);
        taken += n;
    }
}

/// The floor: the same streaming copy with one `apply_mask` per chunk instead of decoding.
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

fn decode_group(b: &mut Bench, group: &str, opcode: u8, payload: fn(usize) -> Vec<u8>, sizes: &[usize]) {
    if !b.wants(group) {
        return;
    }
    let rt = runtime();
    for &size in sizes {
        let (pristine, frames) = client_stream(opcode, &payload(size));
        let pristine: &'static [u8] = pristine.leak();
        let mut lines = Vec::new();

        let mut buf = vec![0u8; READ_BUF];
        lines.push(line("copy_unmask_floor", Level::Floor, move || {
            copy_unmask(black_box(pristine), &mut buf)
        }));

        let mut conn = Connection::new(Role::Server, limits());
        let mut buf2 = vec![0u8; READ_BUF];
        lines.push(line("rfc6455_core", Level::Core, move || {
            assert_eq!(rfc6455_core_decode(&mut conn, pristine, &mut buf2), frames)
        }));

        let mut conn = Connection::new(Role::Server, limits());
        let mut reader = MessageReader::new();
        lines.push(line("rfc6455_reader", Level::Core, move || {
            assert_eq!(rfc6455_reader_decode(&mut conn, &mut reader, pristine), frames)
        }));

        let mut codec = soketto::base::Codec::new();
        codec.set_max_data_size(64 << 20);
        let mut sbuf = Vec::with_capacity(READ_BUF);
        lines.push(line("soketto_core", Level::Core, move || {
            assert_eq!(soketto_core_decode(&codec, pristine, &mut sbuf), frames)
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut fs = tungstenite::protocol::frame::FrameSocket::new(stream);
        lines.push(line("tungstenite_frames", Level::Core, move || {
            handle.rewind();
            for _ in 0..frames {
                // Unmasked by the frame reader.
                let frame = fs.read(Some(64 << 20)).unwrap().unwrap();
                black_box(frame.payload().len());
            }
        }));

        // Adapters.
        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut ws = rfc6455::io::tokio::WebSocket::from_parts(
            stream,
            Connection::new(Role::Server, limits()),
            &[],
        );
        let rt1 = &rt;
        lines.push(line("rfc6455_tokio", Level::Async, move || {
            handle.rewind();
            rt1.block_on(async {
                for _ in 0..frames {
                    black_box(ws.recv().await.unwrap().unwrap());
                }
            });
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut ws = rfc6455::io::blocking::WebSocket::from_parts(
            stream,
            Connection::new(Role::Server, limits()),
            &[],
        );
        lines.push(line("rfc6455_blocking", Level::Blocking, move || {
            handle.rewind();
            for _ in 0..frames {
                black_box(ws.read().unwrap().unwrap());
            }
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut config = tungstenite::protocol::WebSocketConfig::default();
        config.max_message_size = Some(64 << 20);
        config.max_frame_size = Some(64 << 20);
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            stream,
            tungstenite::protocol::Role::Server,
            Some(config),
        );
        lines.push(line("tungstenite", Level::Blocking, move || {
            handle.rewind();
            for _ in 0..frames {
                black_box(ws.read().unwrap());
            }
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut config = tungstenite::protocol::WebSocketConfig::default();
        config.max_message_size = Some(64 << 20);
        config.max_frame_size = Some(64 << 20);
        let mut ws = rt.block_on(tokio_tungstenite::WebSocketStream::from_raw_socket(
            stream,
            tungstenite::protocol::Role::Server,
            Some(config),
        ));
        lines.push(line("tokio_tungstenite", Level::Async, move || {
            handle.rewind();
            rt1.block_on(async {
                for _ in 0..frames {
                    black_box(ws.next().await.unwrap().unwrap());
                }
            })
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut ws = fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
        ws.set_max_message_size(64 << 20);
        lines.push(line("fastwebsockets", Level::Async, move || {
            handle.rewind();
            rt1.block_on(async {
                for _ in 0..frames {
                    let frame = ws.read_frame().await.unwrap();
                    black_box(&frame.payload[..]);
                }
            })
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut ws = tokio_websockets::ServerBuilder::new()
            .limits(tokio_websockets::Limits::default().max_payload_len(Some(64 << 20)))
            .serve(stream);
        lines.push(line("tokio_websockets", Level::Async, move || {
            handle.rewind();
            rt1.block_on(async {
                for _ in 0..frames {
                    black_box(ws.next().await.unwrap().unwrap());
                }
            })
        }));

        let (stream, handle) = MemStream::new(pristine.to_vec());
        let mut builder =
            soketto::connection::Builder::new(stream.compat(), soketto::connection::Mode::Server);
        builder.set_max_message_size(64 << 20);
        builder.set_max_frame_size(64 << 20);
        let (_sender, mut receiver) = builder.finish();
        let mut data = Vec::new();
        lines.push(line("soketto", Level::Async, move || {
            handle.rewind();
            rt1.block_on(async {
                for _ in 0..frames {
                    data.clear();
                    black_box(receiver.receive_data(&mut data).await.unwrap());
                }
            })
        }));

        b.group(group, &size.to_string(), frames, pristine.len() as u64, lines);
    }
}

// ---------------------------------------------------------------------------------------
// Encode: one library's public send path into the same in-memory socket.

fn encode_group(b: &mut Bench, client: bool) {
    let group = if client { "encode_client" } else { "encode_server" };
    if !b.wants(group) {
        return;
    }
    let rt = runtime();
    let role = if client { Role::Client } else { Role::Server };
    for size in SIZES {
        let payload: &'static [u8] = binary_payload(size).leak();
        let shared = Bytes::from_static(payload);
        let count = (TARGET_BYTES / (size + 14)).clamp(1, 1024) as u64;
        let wire = size + rfc6455::frame::header_len(size as u64, client);
        let total = count * wire as u64;
        let mut lines = Vec::new();
        let check = move |h: &MemHandle| assert_eq!(h.take_written(), total);

        let (mut sink, handle) = MemStream::new(Vec::new());
        let mut conn = Connection::new(role, Config::default());
        let mut out = Vec::with_capacity(wire);
        let p = payload;
        lines.push(line("rfc6455_core", Level::Core, move || {
            for _ in 0..count {
                out.clear();
                conn.send_binary(black_box(p), &mut out).unwrap();
                sink.write_all(&out).unwrap();
            }
            check(&handle);
        }));

        let (mut sink, handle) = MemStream::new(Vec::new());
        let mut codec = soketto::base::Codec::new();
        let mut out = Vec::with_capacity(wire);
        let mut seed = 1u32;
        lines.push(line("soketto_core", Level::Core, move || {
            for _ in 0..count {
                let mut header = soketto::base::Header::new(soketto::base::OpCode::Binary);
                header.set_payload_len(size);
                if client {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    header.set_masked(true);
                    header.set_mask(seed);
                }
                out.clear();
                out.extend_from_slice(codec.encode_header(&header));
                let start = out.len();
                out.extend_from_slice(black_box(p));
                if client {
                    soketto::base::Codec::apply_mask(&header, &mut out[start..]);
                }
                sink.write_all(&out).unwrap();
            }
            check(&handle);
        }));

        // Adapters: every library is handed the payload as a shared `Bytes` (or borrows
        // it), made once outside the timing.
        let (stream, handle) = MemStream::new(Vec::new());
        let mut ws = rfc6455::io::tokio::WebSocket::from_parts(stream, Connection::new(role, Config::default()), &[]);
        let rt1 = &rt;
        let s = shared.clone();
        lines.push(line("rfc6455_tokio", Level::Async, move || {
            rt1.block_on(async {
                for _ in 0..count {
                    ws.send(rfc6455::Message::Binary(black_box(s.clone()))).await.unwrap();
                }
            });
            check(&handle);
        }));

        let (stream, handle) = MemStream::new(Vec::new());
        let mut ws = rfc6455::io::blocking::WebSocket::from_parts(stream, Connection::new(role, Config::default()), &[]);
        let s = shared.clone();
        lines.push(line("rfc6455_blocking", Level::Blocking, move || {
            for _ in 0..count {
                ws.send(rfc6455::Message::Binary(black_box(s.clone()))).unwrap();
            }
            check(&handle);
        }));

        let (stream, handle) = MemStream::new(Vec::new());
        let t_role = if client {
            tungstenite::protocol::Role::Client
        } else {
            tungstenite::protocol::Role::Server
        };
        let mut ws = tungstenite::WebSocket::from_raw_socket(stream, t_role, None);
        let s = shared.clone();
        lines.push(line("tungstenite", Level::Blocking, move || {
            for _ in 0..count {
                ws.send(tungstenite::Message::Binary(black_box(s.clone()))).unwrap();
            }
            check(&handle);
        }));

        let (stream, handle) = MemStream::new(Vec::new());
        let mut ws = rt.block_on(tokio_tungstenite::WebSocketStream::from_raw_socket(stream, t_role, None));
        let s = shared.clone();
        lines.push(line("tokio_tungstenite", Level::Async, move || {
            rt1.block_on(async {
                for _ in 0..count {
                    ws.send(tungstenite::Message::Binary(black_box(s.clone()))).await.unwrap();
                }
            });
            check(&handle);
        }));

        let (stream, handle) = MemStream::new(Vec::new());
        let f_role = if client {
            fastwebsockets::Role::Client
        } else {
            fastwebsockets::Role::Server
        };
        let mut ws = fastwebsockets::WebSocket::after_handshake(stream, f_role);
        lines.push(line("fastwebsockets", Level::Async, move || {
            rt1.block_on(async {
                for _ in 0..count {
                    let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(black_box(payload)));
                    ws.write_frame(frame).await.unwrap();
                }
            });
            check(&handle);
        }));

        let (stream, handle) = MemStream::new(Vec::new());
        let mut ws = if client {
            tokio_websockets::ClientBuilder::new().take_over(stream)
        } else {
            tokio_websockets::ServerBuilder::new().serve(stream)
        };
        let s = shared.clone();
        lines.push(line("tokio_websockets", Level::Async, move || {
            rt1.block_on(async {
                for _ in 0..count {
                    ws.send(tokio_websockets::Message::binary(black_box(s.clone()))).await.unwrap();
                }
            });
            check(&handle);
        }));

        let (stream, handle) = MemStream::new(Vec::new());
        let mode = if client {
            soketto::connection::Mode::Client
        } else {
            soketto::connection::Mode::Server
        };
        let (mut sender, _receiver) = soketto::connection::Builder::new(stream.compat_write(), mode).finish();
        lines.push(line("soketto", Level::Async, move || {
            rt1.block_on(async {
                for _ in 0..count {
                    sender.send_binary(black_box(payload)).await.unwrap();
                    sender.flush().await.unwrap();
                }
            });
            check(&handle);
        }));

        b.group(group, &size.to_string(), count, total, lines);
    }
}

// ---------------------------------------------------------------------------------------
// Handshake: a 13-header browser request, parsed and answered.

fn handshake_group(b: &mut Bench) {
    if !b.wants("handshake") {
        return;
    }
    use rfc6455::handshake::{ServerConfig, ServerHandshake};
    let rt = runtime();
    let rt1 = &rt;
    let mut lines = Vec::new();
    let config = ServerConfig::default();
    let mut out = Vec::with_capacity(256);
    lines.push(line("rfc6455_core", Level::Core, move || {
        out.clear();
        let mut hs = ServerHandshake::new(&config);
        let _ = hs.receive(black_box(CHROMIUM_REQUEST)).unwrap();
        let request = hs.request().unwrap();
        config.accept(&request, &mut out).unwrap();
        black_box(&out);
    }));
    let acceptor = rfc6455::io::tokio::Acceptor::default();
    lines.push(line("rfc6455_tokio", Level::Async, move || {
        let ws = rt1.block_on(acceptor.accept(MemStream::from_static(CHROMIUM_REQUEST))).unwrap();
        black_box(ws);
    }));
    lines.push(line("rfc6455_blocking", Level::Blocking, || {
        black_box(rfc6455::io::blocking::accept(MemStream::from_static(CHROMIUM_REQUEST)).unwrap());
    }));
    lines.push(line("tungstenite", Level::Blocking, || {
        black_box(tungstenite::accept(MemStream::from_static(CHROMIUM_REQUEST)).unwrap());
    }));
    lines.push(line("tokio_tungstenite", Level::Async, move || {
        black_box(rt1.block_on(tokio_tungstenite::accept_async(MemStream::from_static(CHROMIUM_REQUEST))).unwrap());
    }));
    let builder = tokio_websockets::ServerBuilder::new();
    lines.push(line("tokio_websockets", Level::Async, move || {
        black_box(rt1.block_on(builder.accept(MemStream::from_static(CHROMIUM_REQUEST))).unwrap());
    }));
    lines.push(line("soketto", Level::Async, move || {
        black_box(rt1.block_on(soketto_accept(MemStream::from_static(CHROMIUM_REQUEST))));
    }));
    lines.push(line("fastwebsockets", Level::Async, move || {
        black_box(rt1.block_on(fastwebsockets_accept(MemStream::from_static(CHROMIUM_REQUEST))));
    }));
    b.group("handshake", "chromium", 1, 0, lines);
}

async fn soketto_accept(
    stream: MemStream,
) -> (
    soketto::Sender<tokio_util::compat::Compat<MemStream>>,
    soketto::Receiver<tokio_util::compat::Compat<MemStream>>,
) {
    let mut server = soketto::handshake::Server::new(stream.compat());
    let key = match server.receive_request().await.unwrap() {
        request => request.key(),
    };
    server
        .send_response(&soketto::handshake::server::Response::Accept { key, protocol: None })
        .await
        .unwrap();
    server.into_builder().finish()
}

// fastwebsockets has no handshake parser of its own: its server side is
// `upgrade::upgrade` on a hyper request, so this is hyper's HTTP/1 connection over the
// stream plus the upgrade, as in fastwebsockets' examples.
// ---------------------------------------------------------------------------------------
// The handshake inside hyper and axum: the same 13-header browser request as `http` types,
// checked and answered by each library's upgrade entry point (the response built, the
// WebSocket's future made; no I/O). Each iteration builds the request from a template
// (the same cost for every line) and gives it an upgrade handle; the axum lines run the
// task `on_upgrade` spawns (it ends at once: no connection is handed over). Our axum line
// turns permessage-deflate off, as the others have none; `rfc6455_axum_deflate` is the
// default (the request offers deflate: the answer and a compressor are made).

/// The Chromium request as `http` types.
fn chromium_parts() -> http::request::Parts {
    let text = std::str::from_utf8(CHROMIUM_REQUEST).unwrap();
    let mut lines = text.split("\r\n");
    let path = lines.next().unwrap().split(' ').nth(1).unwrap();
    let mut builder = http::Request::get(path).version(http::Version::HTTP_11);
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(": ").unwrap();
        builder = builder.header(name, value);
    }
    builder.body(()).unwrap().into_parts().0
}

/// An `OnUpgrade` handle as hyper gives a service, but for a connection that will never be
/// handed over: awaited, it fails at once, so the tasks `on_upgrade` spawns end at once.
fn on_upgrade_handle() -> hyper::upgrade::OnUpgrade {
    hyper::upgrade::on(&mut http::Request::new(()))
}

fn handshake_http_group(b: &mut Bench) {
    if !b.wants("handshake_http") {
        return;
    }
    use axum_core_traits::*;
    let rt = runtime();
    let rt1 = &rt;
    let template = chromium_parts();
    let handle = on_upgrade_handle();
    let request = move || {
        let mut request = http::Request::new(());
        *request.method_mut() = template.method.clone();
        *request.uri_mut() = template.uri.clone();
        *request.version_mut() = template.version;
        *request.headers_mut() = template.headers.clone();
        request.extensions_mut().insert(handle.clone());
        request
    };
    let make = request.clone();
    let mut lines = Vec::new();
    // hyper: the service's upgrade call.
    let acceptor = rfc6455::io::tokio::Acceptor::default();
    lines.push(line("rfc6455_hyper", Level::Async, move || {
        let mut req = make();
        let (response, upgrading) = acceptor
            .upgrade::<_, http_body_util::Empty<Bytes>>(&mut req)
            .unwrap();
        let _ = black_box((response, upgrading));
    }));
    let make = request.clone();
    lines.push(line("fastwebsockets_upgrade", Level::Async, move || {
        let mut req = make();
        black_box(fastwebsockets::upgrade::upgrade(&mut req).unwrap());
    }));
    b.group("handshake_hyper", "chromium", 1, 0, std::mem::take(&mut lines));
    // axum: extract, then on_upgrade (which spawns the task that waits for the connection).
    let make = request.clone();
    lines.push(line("rfc6455_axum", Level::Async, move || {
        rt1.block_on(async {
            let (mut parts, ()) = make().into_parts();
            let ws = rfc6455::io::axum::WebSocketUpgrade::from_request_parts(&mut parts, &())
                .await
                .unwrap();
            black_box(ws.deflate(None).on_upgrade(|_socket| async {}));
            tokio::task::yield_now().await;
        });
    }));
    let make = request.clone();
    lines.push(line("rfc6455_axum_deflate", Level::Async, move || {
        rt1.block_on(async {
            let (mut parts, ()) = make().into_parts();
            let ws = rfc6455::io::axum::WebSocketUpgrade::from_request_parts(&mut parts, &())
                .await
                .unwrap();
            black_box(ws.on_upgrade(|_socket| async {}));
            tokio::task::yield_now().await;
        });
    }));
    let make = request;
    lines.push(line("axum_ws", Level::Async, move || {
        rt1.block_on(async {
            let (mut parts, ()) = make().into_parts();
            let ws = axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &())
                .await
                .unwrap();
            black_box(ws.on_upgrade(|_socket| async {}));
            tokio::task::yield_now().await;
        });
    }));
    b.group("handshake_axum", "chromium", 1, 0, lines);
}

/// `FromRequestParts` for both extractors (axum re-exports axum-core's trait).
mod axum_core_traits {
    pub use axum::extract::FromRequestParts;
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

// ---------------------------------------------------------------------------------------
// Broadcast: one message to 10,000 server connections.

fn broadcast_group(b: &mut Bench) {
    if !b.wants("broadcast") {
        return;
    }
    const CONNS: usize = 10_000;
    let rt = runtime();
    let rt1 = &rt;
    for size in [125, 16 << 10] {
        let payload = Bytes::from(ascii_payload(size));
        let text = std::str::from_utf8(&payload).unwrap().to_owned();
        let wire = size + rfc6455::frame::header_len(size as u64, false);
        let total = (CONNS * wire) as u64;
        let mut lines = Vec::new();
        let server = || Connection::new(Role::Server, Config::default());

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| rfc6455::io::tokio::WebSocket::from_parts(MemStream::new(Vec::new()).0, server(), &[]))
            .collect();
        let t = text.clone();
        lines.push(line("rfc6455_tokio_prepared", Level::Async, move || {
            // Encoded once for everyone.
            let message = PreparedMessage::text(t.clone());
            rt1.block_on(async {
                for ws in &mut socks {
                    ws.send_prepared(&message).await.unwrap();
                }
            });
        }));

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| rfc6455::io::tokio::WebSocket::from_parts(MemStream::new(Vec::new()).0, server(), &[]))
            .collect();
        let t = text.clone();
        lines.push(line("rfc6455_tokio", Level::Async, move || {
            let message = rfc6455::Message::text(t.clone());
            rt1.block_on(async {
                for ws in &mut socks {
                    ws.send(message.clone()).await.unwrap();
                }
            });
        }));

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| {
                tungstenite::WebSocket::from_raw_socket(
                    MemStream::new(Vec::new()).0,
                    tungstenite::protocol::Role::Server,
                    None,
                )
            })
            .collect();
        let t = text.clone();
        lines.push(line("tungstenite", Level::Blocking, move || {
            let message = tungstenite::Message::text(t.clone());
            for ws in &mut socks {
                ws.send(message.clone()).unwrap();
            }
        }));

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| {
                rt1.block_on(tokio_tungstenite::WebSocketStream::from_raw_socket(
                    MemStream::new(Vec::new()).0,
                    tungstenite::protocol::Role::Server,
                    None,
                ))
            })
            .collect();
        let t = text.clone();
        lines.push(line("tokio_tungstenite", Level::Async, move || {
            let message = tungstenite::Message::text(t.clone());
            rt1.block_on(async {
                for ws in &mut socks {
                    ws.send(message.clone()).await.unwrap();
                }
            })
        }));

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| fastwebsockets::WebSocket::after_handshake(MemStream::new(Vec::new()).0, fastwebsockets::Role::Server))
            .collect();
        let p = payload.clone();
        lines.push(line("fastwebsockets", Level::Async, move || {
            rt1.block_on(async {
                for ws in &mut socks {
                    let frame = fastwebsockets::Frame::text(fastwebsockets::Payload::Borrowed(&p));
                    ws.write_frame(frame).await.unwrap();
                }
            })
        }));

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| tokio_websockets::ServerBuilder::new().serve(MemStream::new(Vec::new()).0))
            .collect();
        let t = text.clone();
        lines.push(line("tokio_websockets", Level::Async, move || {
            let message = tokio_websockets::Message::text(t.clone());
            rt1.block_on(async {
                for ws in &mut socks {
                    ws.send(message.clone()).await.unwrap();
                }
            })
        }));

        let mut socks: Vec<_> = (0..CONNS)
            .map(|_| {
                soketto::connection::Builder::new(
                    MemStream::new(Vec::new()).0.compat_write(),
                    soketto::connection::Mode::Server,
                )
                .finish()
                .0
            })
            .collect();
        let t = text.clone();
        lines.push(line("soketto", Level::Async, move || {
            rt1.block_on(async {
                for ws in &mut socks {
                    ws.send_text(&t).await.unwrap();
                    ws.flush().await.unwrap();
                }
            })
        }));
        b.group("broadcast_10k", &size.to_string(), CONNS as u64, total, lines);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is a filter.
    let arg_filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let mut b = Bench {
        rounds: std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(7),
        filter: std::env::var("FILTER").ok().or(arg_filter),
        sample: Duration::from_millis(
            std::env::var("SAMPLE_MS").ok().and_then(|r| r.parse().ok()).unwrap_or(40),
        ),
        rows: Vec::new(),
    };
    decode_group(&mut b, "decode_binary", 0x2, binary_payload, &SIZES);
    decode_group(&mut b, "decode_text_ascii", 0x1, ascii_payload, &[16, 125, 1 << 10, 16 << 10, 64 << 10]);
    decode_group(&mut b, "decode_text_mixed", 0x1, mixed_payload, &[16, 125, 1 << 10, 16 << 10, 64 << 10]);
    encode_group(&mut b, true);
    encode_group(&mut b, false);
    handshake_group(&mut b);
    handshake_http_group(&mut b);
    broadcast_group(&mut b);
    b.write_json();
}
