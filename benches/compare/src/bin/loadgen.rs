//! A closed-loop WebSocket echo load generator with its own minimal frame code (no
//! WebSocket library, so it is equally foreign to every server it measures).
//!
//! ```text
//! loadgen ADDR [--conns N] [--inflight K] [--size BYTES] [--duration SECS] [--warmup SECS] [--text]
//! loadgen ADDR --idle N [--hold SECS]
//! ```
//!
//! Echo mode: N connections each send K (default 1) masked messages of BYTES bytes in one
//! write, wait for all K echoes, and repeat, for `--warmup` seconds unrecorded and then
//! `--duration` seconds recorded. Prints one line:
//!
//! ```text
//! RESULT conns=16 inflight=1 size=1024 secs=5.00 messages=812345 all_messages=975000 msgs_per_s=162469 p50_us=97.3 p99_us=180.2 max_us=2101.0 errors=0
//! ```
//!
//! (`all_messages` counts the warm-up too: with the server's CPU time over the whole run it
//! gives CPU per message, which other load on the machine does not skew.)
//!
//! Latency is from the start of the write to the end of each echo's last frame. Every
//! echo's length, and the first echo on each connection byte for byte, are checked.
//!
//! Idle mode: opens N connections, completes each handshake, prints `IDLE_READY n=N` and
//! keeps them open (and silent) for `--hold` seconds (default 3600) or until killed.
//!
//! It runs on a current-thread tokio runtime: pin it to one core with `taskset`.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

struct Args {
    addr: String,
    conns: usize,
    inflight: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    text: bool,
    idle: Option<usize>,
    hold: f64,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen ADDR [--conns N] [--inflight K] [--size BYTES] [--duration SECS] [--warmup SECS] [--text]\n       loadgen ADDR --idle N [--hold SECS]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: String::new(),
        conns: 1,
        inflight: 1,
        size: 16,
        duration: 5.0,
        warmup: 1.0,
        text: false,
        idle: None,
        hold: 3600.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--conns" => args.conns = value().parse().unwrap_or_else(|_| usage()),
            "--size" => args.size = value().parse().unwrap_or_else(|_| usage()),
            "--inflight" => {
                args.inflight = value().parse().unwrap_or_else(|_| usage());
                if args.inflight == 0 {
                    usage();
                }
            }
            "--duration" => args.duration = value().parse().unwrap_or_else(|_| usage()),
            "--warmup" => args.warmup = value().parse().unwrap_or_else(|_| usage()),
            "--idle" => args.idle = Some(value().parse().unwrap_or_else(|_| usage())),
            "--hold" => args.hold = value().parse().unwrap_or_else(|_| usage()),
            "--text" => args.text = true,
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            s => {
                args.addr = s
                    .trim_start_matches("ws://")
                    .trim_end_matches('/')
                    .to_string()
            }
        }
    }
    if args.addr.is_empty() {
        usage();
    }
    args
}

/// Latencies in nanoseconds, log-linear buckets with 128 sub-buckets per power of two
/// (under 1% error).
struct Histogram {
    counts: Vec<u64>,
    max: u64,
}

impl Histogram {
    const SUB: u64 = 128;

    fn new() -> Histogram {
        Histogram {
            counts: vec![0; 64 * Self::SUB as usize],
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < Self::SUB {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros() as u64; // >= 7
        let shift = msb - 7;
        ((shift + 1) * Self::SUB + ((v >> shift) - Self::SUB)) as usize
    }

    /// The middle of a bucket.
    fn value(i: usize) -> f64 {
        let i = i as u64;
        if i < Self::SUB {
            return i as f64;
        }
        let shift = i / Self::SUB - 1;
        let base = (Self::SUB + i % Self::SUB) << shift;
        base as f64 + ((1u64 << shift) as f64 - 1.0) / 2.0
    }

    fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.max = self.max.max(v);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn percentile(&self, p: f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value(i);
            }
        }
        self.max as f64
    }
}

/// A small xorshift for mask keys (keys only need to differ, not to be secret, here).
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One masked frame with FIN set.
fn masked_frame(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A parsed server frame header: (fin, opcode, payload length, header length).
fn parse_header(buf: &[u8]) -> io::Result<Option<(bool, u8, usize, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 != 0 {
        return Err(io::Error::other("masked frame from the server"));
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0F;
    let (len, hlen) = match buf[1] & 0x7F {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut b = [0; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b) as usize, 10)
        }
        n => (n as usize, 2),
    };
    Ok(Some((fin, opcode, len, hlen)))
}

/// Reads one whole data message, skipping control frames; returns its length, and
/// whether it equals `expect` (when given; only a single-frame message is compared). Bytes
/// of the next echoes stay in `buf`.
async fn read_message(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    expect: Option<&[u8]>,
) -> io::Result<(usize, bool)> {
    let mut total = 0;
    let mut frames = 0;
    let mut same = true;
    loop {
        while let Some((fin, opcode, len, hlen)) = parse_header(&buf[..*filled])? {
            let end = hlen + len;
            if *filled < end {
                if buf.len() < end {
                    buf.resize(end, 0);
                }
                break;
            }
            if opcode == 0x8 {
                return Err(io::Error::other("the server closed the connection"));
            }
            let control = opcode & 0x8 != 0;
            if !control {
                total += len;
                frames += 1;
                if let (Some(expect), true, true) = (expect, frames == 1, fin) {
                    same = buf[hlen..end] == *expect;
                }
            }
            buf.copy_within(end..*filled, 0);
            *filled -= end;
            if !control && fin {
                return Ok((total, same));
            }
        }
        if *filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[*filled..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        *filled += n;
    }
}

async fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 512];
    loop {
        let n = stream.read(&mut byte).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&byte[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 101") {
                let text = String::from_utf8_lossy(&head[..end]).into_owned();
                return Err(io::Error::other(format!("handshake refused: {text}")));
            }
            if end + 4 != head.len() {
                return Err(io::Error::other("bytes after the 101 response"));
            }
            return Ok(stream);
        }
        if head.len() > 16 << 10 {
            return Err(io::Error::other("response head too large"));
        }
    }
}

/// Opens `n` connections, at most 128 handshakes in flight.
async fn connect_all(addr: &str, n: usize) -> io::Result<Vec<TcpStream>> {
    let permits = Arc::new(Semaphore::new(128));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let addr = addr.to_string();
        tasks.push(tokio::spawn(async move {
            let result = connect(&addr).await;
            drop(permit);
            result
        }));
    }
    let mut streams = Vec::with_capacity(n);
    for t in tasks {
        streams.push(t.await.expect("connect task")?);
    }
    Ok(streams)
}

struct Outcome {
    hist: Histogram,
    /// Echoes completed, warm-up included.
    all: u64,
    error: Option<io::Error>,
}

async fn run_connection(
    mut stream: TcpStream,
    seed: u64,
    payload: Arc<Vec<u8>>,
    opcode: u8,
    inflight: usize,
    record_from: Instant,
    end: Instant,
) -> Outcome {
    let mut hist = Histogram::new();
    let mut all = 0;
    let mut state = seed | 1;
    let key = (xorshift(&mut state) as u32).to_le_bytes();
    let batch = masked_frame(opcode, &payload, key).repeat(inflight);
    let mut buf = vec![0u8; (payload.len() + 14).max(64 << 10)];
    let mut filled = 0;
    let mut first = true;
    let error = 'run: loop {
        let start = Instant::now();
        if start >= end {
            break None;
        }
        if let Err(e) = stream.write_all(&batch).await {
            break Some(e);
        }
        for _ in 0..inflight {
            let expect = first.then_some(&payload[..]);
            let (len, same) = match read_message(&mut stream, &mut buf, &mut filled, expect).await {
                Ok(r) => r,
                Err(e) => break 'run Some(e),
            };
            let done = Instant::now();
            if len != payload.len() {
                break 'run Some(io::Error::other(format!(
                    "echo of {len} bytes, sent {}",
                    payload.len()
                )));
            }
            if !same {
                break 'run Some(io::Error::other("echo differs from what was sent"));
            }
            first = false;
            all += 1;
            if start >= record_from {
                hist.record((done - start).as_nanos() as u64);
            }
        }
    };
    Outcome { hist, all, error }
}

async fn echo(args: &Args) -> io::Result<()> {
    let streams = connect_all(&args.addr, args.conns).await?;
    let payload: Vec<u8> = if args.text {
        b"The quick brown fox jumps over the lazy dog. "
            .iter()
            .copied()
            .cycle()
            .take(args.size)
            .collect()
    } else {
        (0..args.size).map(|i| (i * 31 + 7) as u8).collect()
    };
    let payload = Arc::new(payload);
    let opcode = if args.text { 0x1 } else { 0x2 };
    let begin = Instant::now();
    let record_from = begin + Duration::from_secs_f64(args.warmup);
    let end = record_from + Duration::from_secs_f64(args.duration);
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
            tokio::spawn(run_connection(
                s,
                seed,
                payload.clone(),
                opcode,
                args.inflight,
                record_from,
                end,
            ))
        })
        .collect();
    let mut hist = Histogram::new();
    let mut all = 0;
    let mut errors = 0;
    for t in tasks {
        let outcome = t.await.expect("connection task");
        hist.merge(&outcome.hist);
        all += outcome.all;
        if let Some(e) = outcome.error {
            if errors == 0 {
                eprintln!("loadgen: connection error: {e}");
            }
            errors += 1;
        }
    }
    let secs = args.duration;
    let messages = hist.total();
    println!(
        "RESULT conns={} inflight={} size={} secs={:.2} messages={} all_messages={} msgs_per_s={:.0} p50_us={:.1} p99_us={:.1} max_us={:.1} errors={}",
        args.conns,
        args.inflight,
        args.size,
        secs,
        messages,
        all,
        messages as f64 / secs,
        hist.percentile(50.0) / 1e3,
        hist.percentile(99.0) / 1e3,
        hist.max as f64 / 1e3,
        errors
    );
    if errors == args.conns {
        return Err(io::Error::other("every connection failed"));
    }
    Ok(())
}

async fn idle(args: &Args, n: usize) -> io::Result<()> {
    let streams = connect_all(&args.addr, n).await?;
    println!("IDLE_READY n={}", streams.len());
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    drop(streams);
    Ok(())
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        match args.idle {
            Some(n) => idle(&args, n).await,
            None => echo(&args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}
