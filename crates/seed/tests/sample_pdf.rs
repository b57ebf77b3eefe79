//! `tandem-seed --sample-pdf DIR` writes both printed summaries, readable as French text.

use std::process::Command;

fn pdftotext(path: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sample_pdf_writes_both_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sample");
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_tandem-seed"))
            .arg("--sample-pdf")
            .arg(&target)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (
            std::fs::read(target.join("person.pdf")).unwrap(),
            std::fs::read(target.join("professional.pdf")).unwrap(),
        )
    };
    let first = run();
    assert!(first.0.starts_with(b"%PDF-") && first.1.starts_with(b"%PDF-"));
    let person = pdftotext(&target.join("person.pdf"));
    assert!(
        person.contains("Votre diagnostic et votre plan d’action"),
        "{person}"
    );
    assert!(person.contains("Page 1/"));
    let professional = pdftotext(&target.join("professional.pdf"));
    assert!(professional.contains("Diagnostic partagé – synthèse pour les professionnels"));
    assert!(professional.contains("Plan d’action"));
    // Same seed, same bytes.
    assert_eq!(run(), first);
}
