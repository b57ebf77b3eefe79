//! Load bench: 500 laptops sync at once against a real server on loopback.
//!
//! `cargo run --release -p tandem-server --example load -- [--database-url URL] [--laptops N]
//! [--structures S] [--persons P] [--edits E]`
//!
//! 1. Seeds a territory with `tandem-seed`'s library (structures, one device per laptop,
//!    synthetic persons in follow-up groups) and starts the real router on 127.0.0.1:0.
//! 2. Every laptop opens its connection and pulls its whole scope (not measured): this is the
//!    state of a territory whose laptops are already enrolled.
//! 3. Measured: all laptops start together; each pushes `E` edits of persons it follows, then
//!    pulls until `has_more` is false. Every request's latency is recorded.
//!
//! Prints `BENCH sync_<N>_laptops_p95_ms_<backend> <ms>` and `BENCH sync_<N>_laptops_errors <n>`
//! on stdout, details on stderr.
//!
//! For looking closer: `TANDEM_PERF_CTL=<fifo>` switches `perf record -D -1 --control
//! fifo:<fifo>` on for the burst alone (docs/operations.md), and `TANDEM_LOAD_KEEP=1` keeps the
//! SQLite database afterwards (its folder is printed) for `EXPLAIN QUERY PLAN`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tandem_seed::territory::{seed_territory, TerritoryPlan};
use tandem_server::http::{app, AppState};
use tandem_server::Store;
use tandem_sync::{Change, Cursor, Hlc, PullResponse, PushResponse, PROTOCOL_HEADER};
use tokio::sync::Barrier;
use uuid::Uuid;

// mimalloc, not the system allocator (see `mimalloc` in the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    database_url: Option<String>,
    laptops: usize,
    structures: usize,
    persons: usize,
    edits: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        database_url: None,
        laptops: 500,
        structures: 50,
        persons: 10_000,
        edits: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let count = |name: &str, raw: String| -> Result<usize, String> {
            raw.parse()
                .map_err(|_| format!("{name}: not a count: {raw}"))
        };
        match arg.as_str() {
            "--database-url" => args.database_url = Some(value("--database-url")?),
            "--laptops" => args.laptops = count("--laptops", value("--laptops")?)?,
            "--structures" => args.structures = count("--structures", value("--structures")?)?,
            "--persons" => args.persons = count("--persons", value("--persons")?)?,
            "--edits" => args.edits = count("--edits", value("--edits")?)?,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if args.laptops < args.structures || args.structures == 0 {
        return Err("--laptops must be at least --structures, which must be at least 1".into());
    }
    Ok(args)
}

/// The soft limit on open files, where the OS tells it (Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    soft.parse().ok()
}

fn open_store(dir: &Path, database_url: Option<&str>) -> Result<Store, String> {
    match database_url {
        None => Store::open(dir).map_err(|e| e.to_string()),
        Some(url) => Store::open_postgres(url).map_err(|e| e.to_string()),
    }
}

#[allow(clippy::print_stdout)] // the BENCH lines are this tool's output
fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("load: {message}");
            return ExitCode::from(2);
        }
    };
    // Each laptop holds one client socket and the server one more; leave room for the database
    // and the runtime. Raising the limit is the operator's call (`ulimit -n`), not this tool's.
    let needed = 2 * args.laptops as u64 + 256;
    if let Some(limit) = open_files_limit() {
        if limit < needed {
            eprintln!(
                "load: {} laptops need about {needed} open files but the limit is {limit}; \
                 run `ulimit -n {needed}` in this shell first, or pass a smaller --laptops",
                args.laptops
            );
            return ExitCode::from(2);
        }
    }
    let backend = if args.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("load: temporary folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut store = match open_store(dir.path(), args.database_url.as_deref()) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("load: cannot open the database: {e}");
            return ExitCode::FAILURE;
        }
    };

    let started = Instant::now();
    let plan = TerritoryPlan {
        structures: args.structures,
        caseworkers: args.laptops,
        persons: args.persons,
        seed: 500,
        diagnostics: false,
    };
    let now = Utc
        .with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let territory = match seed_territory(&mut store, &plan, now, tandem_server::now_ms()) {
        Ok(territory) => territory,
        Err(e) => {
            eprintln!("load: seeding failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "load: seeded {} structures, {} devices, {} persons, {} changes in {:.1} s ({backend})",
        territory.structures.len(),
        territory.devices.len(),
        territory.persons.len(),
        territory.changes,
        started.elapsed().as_secs_f64()
    );

    // The server gets its own runtime (two workers, like the machine's two cores); the
    // laptops another, so neither starves the other's scheduler.
    let server = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::new(store);
    let addr = match server.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = app(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok::<_, std::io::Error>(addr)
    }) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("load: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };

    let laptops = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("laptops")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = laptops.block_on(run_laptops(addr, &territory, args.edits));
    if let Some(device) = territory.devices.first() {
        let timed = server.block_on(store_times(&state, device.token.clone(), args.edits));
        match timed {
            Ok(times) => report.store = times,
            Err(e) => eprintln!("load: timing the store alone failed: {e}"),
        }
    }
    drop(laptops);
    drop(server);

    let mut latencies = report.latencies;
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    eprintln!(
        "load: {} requests ({} pushes, {} pulls, {} changes pulled) in {:.0} ms; \
         p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; initial sync {:.0} ms; \
         one laptop alone afterwards: push {:.1} ms, pull {:.1} ms; inside the store lock: \
         authenticate {:.2} ms, push {:.2} ms, pull {:.2} ms",
        latencies.len(),
        report.pushes,
        report.pulls,
        report.changes_pulled,
        report.burst.as_secs_f64() * 1000.0,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        pct(1.0),
        report.initial.as_secs_f64() * 1000.0,
        report.alone_push.as_secs_f64() * 1000.0,
        report.alone_pull.as_secs_f64() * 1000.0,
        report.store[0].as_secs_f64() * 1000.0,
        report.store[1].as_secs_f64() * 1000.0,
        report.store[2].as_secs_f64() * 1000.0,
    );
    let mut pushes = report.push_latencies.clone();
    pushes.sort_unstable();
    if let Some(p95) = pushes.get((pushes.len() * 95).div_ceil(100).saturating_sub(1)) {
        eprintln!(
            "load: pushes alone: p95 {:.1} ms (pulls are the other {} requests)",
            p95.as_secs_f64() * 1000.0,
            latencies.len() - pushes.len()
        );
    }
    let [server_cpu, laptops_cpu, other_cpu] = report.cpu;
    eprintln!(
        "load: CPU during the burst: server {:.0} ms (its writer thread included), laptops \
         (the load generator) {:.0} ms, rest of this process {:.0} ms; wall {:.0} ms",
        server_cpu.as_secs_f64() * 1000.0,
        laptops_cpu.as_secs_f64() * 1000.0,
        other_cpu.as_secs_f64() * 1000.0,
        report.burst.as_secs_f64() * 1000.0,
    );
    for error in report.error_samples.iter().take(5) {
        eprintln!("load: error: {error}");
    }
    let n = territory.devices.len();
    println!("BENCH sync_{n}_laptops_p95_ms_{backend} {:.1}", pct(0.95));
    println!("BENCH sync_{n}_laptops_errors {}", report.errors);
    if std::env::var_os("TANDEM_LOAD_KEEP").is_some() {
        eprintln!("load: kept {}", dir.keep().display());
    }
    ExitCode::SUCCESS
}

#[derive(Default)]
struct Report {
    latencies: Vec<Duration>,
    /// The pushes' own, to tell them from the pulls'.
    push_latencies: Vec<Duration>,
    errors: usize,
    error_samples: Vec<String>,
    pushes: usize,
    pulls: usize,
    changes_pulled: usize,
    burst: Duration,
    initial: Duration,
    alone_push: Duration,
    alone_pull: Duration,
    /// Mean time inside the store (holding its lock): authenticate, push, pull.
    store: [Duration; 3],
    /// CPU time used during the burst by the server's threads, the laptops' and the rest.
    cpu: [Duration; 3],
}

/// CPU time (user + system) of this process's threads so far, by who they are: the server's
/// runtime and writer, the laptops' runtime, the rest. Linux only (zero elsewhere).
fn cpu_by_side() -> [Duration; 3] {
    let mut cpu = [Duration::ZERO; 3];
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return cpu;
    };
    // Clock ticks are 100 per second on every Linux the bench runs on.
    let tick = Duration::from_millis(10);
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat; 12 and 13 after "(name)".
        let ticks: u32 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<u32>().ok()).sum())
            .unwrap_or(0);
        let side = if name.starts_with("server") || name.starts_with("tandem-writer") {
            0
        } else if name.starts_with("laptops") {
            1
        } else {
            2
        };
        cpu[side] += tick * ticks;
    }
    cpu
}

/// Profiles the burst alone: with `TANDEM_PERF_CTL` naming the control FIFO of `perf record
/// -D -1 --control fifo:PATH`, the burst's start and end switch perf's sampling on and off.
fn perf_control(command: &str) {
    if let Some(path) = std::env::var_os("TANDEM_PERF_CTL") {
        use std::io::Write;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut fifo| fifo.write_all(format!("{command}\n").as_bytes()));
        if let Err(e) = written {
            eprintln!("load: perf control: {e}");
        }
    }
}

/// The store's own cost per call, without HTTP or queueing: what every request holds the one
/// writer for.
async fn store_times(
    state: &AppState,
    token: String,
    edits: usize,
) -> Result<[Duration; 3], Error> {
    let rounds = 20u32;
    let (auth, device) = state
        .with_store(move |store| {
            let started = Instant::now();
            let mut device = None;
            for _ in 0..rounds {
                device = store.authenticate(&token)?;
            }
            Ok((started.elapsed() / rounds, device))
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    let device = device.ok_or("the seeded token is unknown")?;
    // The laptop's view: everything it may read, to edit on top of it.
    let mut laptop = Laptop {
        sender: None,
        device: device.id,
        token: String::new(),
        cursor: None,
        versions: HashMap::new(),
        counter: 1_000_000,
    };
    let (d, full) = (device.clone(), state.clone());
    let first = full
        .with_store(move |store| {
            let mut pages = Vec::new();
            let mut cursor = None;
            loop {
                let page = store.pull(&d, cursor.as_ref(), Some(5_000), tandem_server::now_ms())?;
                cursor = Some(page.cursor.clone());
                let more = page.has_more;
                pages.push(page);
                if !more {
                    return Ok(pages);
                }
            }
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    for page in first {
        laptop.apply(page);
    }
    let mut rng = StdRng::seed_from_u64(7);
    let (mut push, mut pull) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let changes = laptop.edits(edits, &mut rng);
        let (d, cursor) = (device.clone(), laptop.cursor.clone());
        let (p, q, page) = state
            .with_store(move |store| {
                let started = Instant::now();
                store.push(&d, &changes, tandem_server::now_ms())?;
                let p = started.elapsed();
                let started = Instant::now();
                let page = store.pull(&d, cursor.as_ref(), None, tandem_server::now_ms())?;
                Ok((p, started.elapsed(), page))
            })
            .await
            .map_err(|e| format!("{e:?}"))?;
        push += p;
        pull += q;
        laptop.apply(page);
    }
    Ok([auth, push / rounds, pull / rounds])
}

/// One simulated laptop: its connection, its token and what it has pulled.
struct Laptop {
    /// None for the in-process laptop that times the store directly.
    sender: Option<SendRequest<Full<Bytes>>>,
    device: Uuid,
    token: String,
    cursor: Option<Cursor>,
    /// The highest version pulled per (person, field): the base of its next edit.
    versions: HashMap<(Uuid, String), u64>,
    counter: u32,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

impl Laptop {
    async fn connect(addr: SocketAddr, device: Uuid, token: String) -> Result<Laptop, Error> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        Ok(Laptop {
            sender: Some(sender),
            device,
            token,
            cursor: None,
            versions: HashMap::new(),
            counter: 0,
        })
    }

    /// One request; an answer other than 2xx is an error.
    async fn call(&mut self, method: &str, uri: &str, body: String) -> Result<Bytes, Error> {
        let request = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header(PROTOCOL_HEADER, "1")
            .header("authorization", format!("Bearer {}", self.token))
            .body(Full::new(Bytes::from(body)))?;
        let sender = self.sender.as_mut().ok_or("no connection")?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(format!("{method} {uri}: {status}").into());
        }
        Ok(bytes)
    }

    /// Takes a pulled page in: versions and cursor. Returns `has_more`.
    fn apply(&mut self, page: PullResponse) -> bool {
        for v in page.changes {
            let key = (v.change.person_id, v.change.field);
            let best = self.versions.entry(key).or_insert(0);
            *best = (*best).max(v.version);
        }
        self.cursor = Some(page.cursor);
        page.has_more
    }

    /// Pulls until `has_more` is false, recording each request's latency.
    async fn pull_all(&mut self, latencies: &mut Vec<Duration>) -> Result<(usize, usize), Error> {
        let (mut pulls, mut changes) = (0, 0);
        loop {
            let uri = match &self.cursor {
                Some(cursor) => format!("/v1/pull?cursor={}", cursor.0),
                None => "/v1/pull".to_string(),
            };
            let started = Instant::now();
            let bytes = self.call("GET", &uri, String::new()).await?;
            let page: PullResponse = serde_json::from_slice(&bytes)?;
            latencies.push(started.elapsed());
            pulls += 1;
            changes += page.changes.len();
            if !self.apply(page) {
                return Ok((pulls, changes));
            }
        }
    }

    /// Pushes `n` edits of persons it follows, on top of what it pulled.
    async fn push_edits(
        &mut self,
        n: usize,
        rng: &mut StdRng,
        latencies: &mut Vec<Duration>,
    ) -> Result<(), Error> {
        let changes = self.edits(n, rng);
        let body = json!({ "changes": changes }).to_string();
        let started = Instant::now();
        let bytes = self.call("POST", "/v1/push", body).await?;
        let response: PushResponse = serde_json::from_slice(&bytes)?;
        latencies.push(started.elapsed());
        if response.results.len() != changes.len() {
            return Err("push: not one result per change".into());
        }
        Ok(())
    }

    /// `n` edits of persons it follows, on top of what it pulled.
    fn edits(&mut self, n: usize, rng: &mut StdRng) -> Vec<Change> {
        let persons: Vec<Uuid> = {
            let mut all: Vec<Uuid> = self.versions.keys().map(|(p, _)| *p).collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        let mut changes = Vec::with_capacity(n);
        for _ in 0..n {
            let Some(&person) = persons.choose(rng) else {
                break;
            };
            let (field, value) = match rng.random_range(0..3) {
                0 => (
                    "phone",
                    json!(format!(
                        "06 {:02} {:02} {:02} {:02}",
                        rng.random_range(0..100),
                        rng.random_range(0..100),
                        rng.random_range(0..100),
                        rng.random_range(0..100)
                    )),
                ),
                1 => (
                    "address",
                    json!(format!("{} rue de la République", rng.random_range(1..200))),
                ),
                _ => ("qpv", json!(rng.random_bool(0.5))),
            };
            self.counter += 1;
            changes.push(Change {
                mutation_id: Uuid::now_v7(),
                entity: "person".into(),
                record_id: person,
                person_id: person,
                field: field.into(),
                value,
                base_version: self.versions.get(&(person, field.to_string())).copied(),
                hlc: Hlc {
                    wall_ms: tandem_server::now_ms() as u64,
                    counter: self.counter,
                    node: self.device,
                },
                device_id: self.device,
            });
        }
        changes
    }
}

async fn run_laptops(
    addr: SocketAddr,
    territory: &tandem_seed::territory::Territory,
    edits: usize,
) -> Report {
    let mut report = Report::default();
    let n = territory.devices.len();

    // Enrolled laptops that have synced before: connect and pull everything (not measured).
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    let gate = Arc::new(tokio::sync::Semaphore::new(16));
    for device in &territory.devices {
        let (id, token) = (device.id, device.token.clone());
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let mut laptop = Laptop::connect(addr, id, token).await?;
            let _permit = gate.acquire_owned().await?;
            laptop.pull_all(&mut Vec::new()).await?;
            Ok::<_, Error>(laptop)
        }));
    }
    let mut laptops = Vec::with_capacity(n);
    for task in tasks {
        match task.await {
            Ok(Ok(laptop)) => laptops.push(laptop),
            Ok(Err(e)) => {
                report.errors += 1;
                report.error_samples.push(format!("initial sync: {e}"));
            }
            Err(e) => {
                report.errors += 1;
                report.error_samples.push(format!("initial sync task: {e}"));
            }
        }
    }
    report.initial = started.elapsed();

    // The burst: every laptop starts at once.
    let barrier = Arc::new(Barrier::new(laptops.len()));
    let mut tasks = Vec::with_capacity(laptops.len());
    for (i, mut laptop) in laptops.into_iter().enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(i as u64);
            let mut latencies = Vec::with_capacity(4);
            barrier.wait().await;
            let outcome = async {
                laptop.push_edits(edits, &mut rng, &mut latencies).await?;
                laptop.pull_all(&mut latencies).await
            }
            .await;
            (laptop, latencies, outcome)
        }));
    }
    let started = Instant::now();
    let cpu_before = cpu_by_side();
    perf_control("enable");
    let mut laptops = Vec::new();
    for task in tasks {
        match task.await {
            Ok((laptop, latencies, outcome)) => {
                // The first request is the push, the others pulls.
                if let Some(push) = latencies.first() {
                    report.push_latencies.push(*push);
                }
                report.latencies.extend(latencies);
                match outcome {
                    Ok((pulls, changes)) => {
                        report.pushes += 1;
                        report.pulls += pulls;
                        report.changes_pulled += changes;
                    }
                    Err(e) => {
                        report.errors += 1;
                        report.error_samples.push(e.to_string());
                    }
                }
                laptops.push(laptop);
            }
            Err(e) => {
                report.errors += 1;
                report.error_samples.push(format!("laptop task: {e}"));
            }
        }
    }
    report.burst = started.elapsed();
    perf_control("disable");
    let cpu_after = cpu_by_side();
    for (side, (after, before)) in cpu_after.iter().zip(cpu_before).enumerate() {
        report.cpu[side] = after.saturating_sub(before);
    }

    // Service time without queueing: one laptop alone, a few rounds.
    if let Some(laptop) = laptops.first_mut() {
        let mut rng = StdRng::seed_from_u64(u64::MAX);
        let rounds = 20;
        let (mut push, mut pull) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..rounds {
            let mut latencies = Vec::new();
            if laptop
                .push_edits(edits, &mut rng, &mut latencies)
                .await
                .is_ok()
            {
                push += latencies[0];
            }
            let mut latencies = Vec::new();
            if laptop.pull_all(&mut latencies).await.is_ok() {
                pull += latencies.iter().sum::<Duration>();
            }
        }
        report.alone_push = push / rounds;
        report.alone_pull = pull / rounds;
    }
    report
}
