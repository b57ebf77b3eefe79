//! The first case files of a process, created on several threads at once.
//!
//! SQLite marks itself initialised before it runs SQLCipher's own set-up (`SQLITE_EXTRA_INIT`),
//! so a thread that keyed a connection during another thread's set-up was refused (`PRAGMA key`
//! failed with SQLITE_ERROR, nothing logged): seen in CI when the first tests of a binary opened
//! their files together. The race only exists before SQLite's first initialisation, once per
//! process: the test runs this binary again as fresh child processes, each racing eight threads
//! (about one child in fifty lost the race before the fix, on a loaded 2-core machine).

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};

use common::*;
use tandem_store::CaseFile;

const CHILD_VAR: &str = "TANDEM_FIRST_OPEN_RACE_DIR";
const CHILDREN: usize = 40;
const THREADS: usize = 8;

#[test]
fn case_files_created_together_by_the_first_threads_of_a_process_all_open() {
    let exe = std::env::current_exe().unwrap();
    for child in 0..CHILDREN {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(&exe)
            .args(["race_child", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_VAR, dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "child {child}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let created = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "tandem"))
            })
            .count();
        assert_eq!(created, THREADS, "child {child} did not run the race");
    }
}

/// Run only as a child of the test above: nothing in this process has touched SQLite yet.
#[test]
#[ignore = "run by first_open_race as a child process"]
fn race_child() {
    let dir = std::env::var_os(CHILD_VAR).expect("run as a child, with its directory");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let path = std::path::Path::new(&dir).join(format!("dossiers-{i}.tandem"));
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut file = CaseFile::create(&path, &KEY).map_err(|e| format!("{e:?}"))?;
                file.save_profile(&profile())
                    .map_err(|e| format!("{e:?}"))?;
                Ok::<_, String>(())
            })
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .enumerate()
        .filter_map(|(i, h)| h.join().unwrap().err().map(|e| format!("thread {i}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
