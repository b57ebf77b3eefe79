//! The case file is a real SQLCipher 4 database: an independent reader (Python's `sqlcipher3`,
//! with its own bundled SQLCipher) opens it with the raw key and reads the names back.
//!
//! Interpreter: env `TANDEM_PYTHON` (default `python3`), which must have `sqlcipher3==0.6.4`.
//! Set `TANDEM_SKIP_PYTHON_INTEROP=1` to skip; otherwise a missing module fails the test.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use tandem_store::CaseFile;

#[test]
fn python_sqlcipher3_reads_the_case_file() {
    if std::env::var("TANDEM_SKIP_PYTHON_INTEROP").as_deref() == Ok("1") {
        eprintln!("skipped: TANDEM_SKIP_PYTHON_INTEROP=1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let names = [
        ("Hélène", "Lefèvre"),
        ("Zoé", "N'Diaye"),
        ("Jérôme", "Müller"),
        ("François", "Benoît"),
    ];
    let mut file = CaseFile::create(&path, &KEY).unwrap();
    for (first, last) in names {
        file.create_person(&new_person(first, last, ""), now())
            .unwrap();
    }
    drop(file);

    let python = std::env::var("TANDEM_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sqlcipher_reader.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} (set TANDEM_PYTHON): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(hex(&KEY).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() != Some(3),
        "{python} cannot import a SQLCipher 4 `sqlcipher3`: run `{python} -m pip install \
         sqlcipher3==0.6.4`, point TANDEM_PYTHON at an interpreter that has it, or set \
         TANDEM_SKIP_PYTHON_INTEROP=1.\n{stderr}"
    );
    assert!(
        output.status.success(),
        "reader failed ({}): {stderr}",
        output.status
    );

    let read: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let read: Vec<(String, String)> = read
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["first_name"].as_str().unwrap().into(),
                p["last_name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("François", "Benoît"),
        ("Hélène", "Lefèvre"),
        ("Jérôme", "Müller"),
        ("Zoé", "N'Diaye"),
    ]
    .iter()
    .map(|(f, l)| (f.to_string(), l.to_string()))
    .collect();
    assert_eq!(read, expected);
}
