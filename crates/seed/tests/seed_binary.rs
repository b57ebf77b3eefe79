//! Runs the real binary and opens what it wrote with the key it printed.

use std::process::Command;

use tandem_store::CaseFile;

fn parse_key(stdout: &str) -> [u8; 32] {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {stdout:?}");
    let hex = lines[0].strip_prefix("key=").expect("key=<hex>");
    assert_eq!(hex.len(), 64);
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{hex}"
    );
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    key
}

#[test]
fn writes_a_case_file_that_opens_with_the_printed_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seed.tandem");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
            .args(["--persons", "50", "--print-key", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = parse_key(&String::from_utf8(output.stdout).unwrap());

    let file = CaseFile::open(&out, &key).unwrap();
    let all = file.search_persons("", 100).unwrap();
    assert_eq!((all.total, all.items.len()), (50, 50));
    assert!(file.profile().unwrap().is_some());
    assert!(file.pending_changes().unwrap() > 50 * 3);
    file.integrity_check().unwrap();
    // Diagnostics for about 60 % of the persons, each listed and readable.
    let mut with_diagnostics = 0;
    let mut versions = 0;
    for person in &all.items {
        let list = file.diagnostics_of_person(person.id).unwrap();
        with_diagnostics += usize::from(!list.is_empty());
        versions += list.len();
        for summary in &list {
            let d = file.diagnostic(summary.id).unwrap();
            assert_eq!((d.person_id, d.version), (person.id, summary.version));
        }
    }
    assert!((20..=40).contains(&with_diagnostics), "{with_diagnostics}");
    assert!(
        versions > with_diagnostics,
        "some series have several versions"
    );
    drop(file);

    // Never overwrites, and says so with exit code 2.
    let before = std::fs::read(&out).unwrap();
    let again = run();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(again.stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

/// The content is the same for the same seed: the diagnostics generated in-process are exactly
/// what the binary wrote.
#[test]
fn the_written_diagnostics_are_the_seeded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seed.tandem");
    let output = Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
        .args(["--persons", "40", "--seed", "11", "--print-key", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let key = parse_key(&String::from_utf8(output.stdout).unwrap());
    let file = CaseFile::open(&out, &key).unwrap();

    let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 5, 8, 0, 0).unwrap();
    let persons = tandem_seed::synthetic_persons(40, 11, now);
    let expected =
        tandem_seed::synthetic_diagnostics(&persons, &tandem_seed::synthetic_profile(11), 11, now)
            .unwrap();
    assert!(!expected.is_empty());
    for d in &expected {
        assert_eq!(&file.diagnostic(d.id).unwrap(), d);
    }
}

#[test]
fn a_fresh_key_every_run_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<[u8; 32]> = ["a.tandem", "b.tandem"]
        .iter()
        .map(|name| {
            let output = Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
                .args(["--persons", "1", "--seed", "7", "--print-key", "--out"])
                .arg(dir.path().join(name))
                .output()
                .unwrap();
            assert!(output.status.success());
            parse_key(&String::from_utf8(output.stdout).unwrap())
        })
        .collect();
    assert_ne!(keys[0], keys[1]);

    for args in [
        &["--persons", "x", "--out", "c"][..],
        &["--out", "c"],
        &["--persons", "1"],
        &["--bogus"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}
