//! `tandem-seed territory` fills a server that then serves each device exactly the persons its
//! structure follows, over real HTTP.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tandem_seed::territory::{seed_territory, TerritoryPlan};
use tandem_server::http::{app, AppState};
use tandem_server::Store;
use tandem_sync::{Cursor, PullResponse, PROTOCOL_HEADER};
use uuid::Uuid;

const STRUCTURES: usize = 4;

fn seed(dir: &Path, seed: u64) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
        .arg("territory")
        .arg("--data-dir")
        .arg(dir)
        .args(["--structures", &STRUCTURES.to_string()])
        .args(["--caseworkers", "6", "--persons", "60"])
        .args(["--seed", &seed.to_string()])
        .output()
        .unwrap()
}

struct Line {
    device: Uuid,
    structure: Uuid,
    role: String,
    token: String,
}

fn tokens(dir: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(dir.join("seed-tokens.tsv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("device_id\tstructure_id\tstructure\trole\tcaseworker\ttoken")
    );
    lines
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 6, "{line}");
            Line {
                device: cols[0].parse().unwrap(),
                structure: cols[1].parse().unwrap(),
                role: cols[3].to_string(),
                token: cols[5].to_string(),
            }
        })
        .collect()
}

/// Every person id the server gives this token, pulling until `has_more` is false.
async fn pulled_persons(base: &str, token: &str) -> (BTreeSet<Uuid>, usize) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let (mut persons, mut changes, mut cursor): (_, _, Option<Cursor>) = (BTreeSet::new(), 0, None);
    loop {
        let mut uri = format!("{base}/v1/pull?limit=500");
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={}", c.0));
        }
        let request = hyper::Request::get(uri)
            .header(PROTOCOL_HEADER, "1")
            .header("authorization", format!("Bearer {token}"))
            .body(Empty::new())
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let page: PullResponse = serde_json::from_slice(&body).unwrap();
        changes += page.changes.len();
        persons.extend(page.changes.iter().map(|c| c.change.person_id));
        cursor = Some(page.cursor);
        if !page.has_more {
            return (persons, changes);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_server_serves_each_device_the_persons_its_structure_follows() {
    let dir = tempfile::tempdir().unwrap();
    let output = seed(dir.path(), 7);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = tokens(dir.path());
    assert_eq!(lines.len(), 6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("seed-tokens.tsv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "tokens readable by others: {mode:o}");
    }
    // Never overwrites the tokens of an earlier run.
    assert_eq!(seed(dir.path(), 7).status.code(), Some(2));

    // The same plan through the library on another server: the same persons and groups.
    let other = tempfile::tempdir().unwrap();
    let plan = TerritoryPlan {
        structures: STRUCTURES,
        caseworkers: 6,
        persons: 60,
        seed: 7,
        diagnostics: true,
    };
    let now = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    let expected = seed_territory(
        &mut Store::open(other.path()).unwrap(),
        &plan,
        now,
        tandem_server::now_ms(),
    )
    .unwrap();
    assert!(expected.diagnostics > 0);
    assert!(expected.persons.iter().any(|p| p.group.len() > 1));

    let state = AppState::new(Store::open(dir.path()).unwrap());
    let status = state.with_store(|s| s.status()).await.unwrap();
    assert_eq!(status.persons, 60);
    assert_eq!(status.devices, 6);
    assert_eq!(status.changes as usize, expected.changes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });

    let mut structures_seen = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        // Devices are dealt to structures in turn: device i works at structure i mod N.
        let index = i % STRUCTURES;
        structures_seen.insert((index, line.structure));
        let want: BTreeSet<Uuid> = expected
            .persons
            .iter()
            .filter(|p| p.group.contains(&index))
            .map(|p| p.id)
            .collect();
        assert!(!want.is_empty());
        let (got, changes) = pulled_persons(&base, &line.token).await;
        assert_eq!(got, want, "device {} of structure {index}", line.device);
        assert!(changes >= want.len() * 3);
        assert_eq!(line.role, expected.devices[i].role_name());
    }
    // Each structure index is one server structure.
    let ids: BTreeSet<Uuid> = structures_seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), STRUCTURES);
}

#[test]
fn too_few_caseworkers_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
        .arg("territory")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--structures", "3", "--caseworkers", "2", "--persons", "5"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--caseworkers"));
}
