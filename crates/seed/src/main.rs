//! `tandem-seed --persons N --out PATH [--print-key] [--seed S]`: writes a synthetic case file
//! encrypted with a fresh random key: persons, and joint diagnostics for about 60 % of them.
//! Content is deterministic for a seed; the key never is.
//!
//! `tandem-seed --sample-pdf DIR [--seed S]`: writes `DIR/person.pdf` and
//! `DIR/professional.pdf`, the printed summaries of a full synthetic diagnostic.
//!
//! `tandem-seed territory --data-dir DIR [--database-url URL] --structures N --caseworkers M
//! --persons P [--seed S] [--no-diagnostics]`: fills a territory server's database through the
//! server's library and writes the devices' tokens to `DIR/seed-tokens.tsv`.

mod territory_cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use rand::RngCore;
use tandem_store::{CaseFile, StoreError};
use zeroize::Zeroizing;

const USAGE: &str = "usage: tandem-seed --persons N --out PATH [--print-key] [--seed S]
       tandem-seed --sample-pdf DIR [--seed S]
       tandem-seed territory --data-dir DIR [--database-url URL] --structures N --caseworkers M --persons P [--seed S] [--no-diagnostics]";

struct Args {
    persons: usize,
    out: PathBuf,
    print_key: bool,
    seed: u64,
    /// Print the two sample summaries instead of writing a case file.
    sample_pdf: Option<PathBuf>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut persons, mut out, mut print_key, mut seed) = (None, None, false, 42);
    let mut sample_pdf = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--persons" => {
                let raw = value("--persons")?;
                persons = Some(
                    raw.parse()
                        .map_err(|_| format!("--persons: not a count: {raw}"))?,
                );
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--seed" => {
                let raw = value("--seed")?;
                seed = raw
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {raw}"))?;
            }
            "--print-key" => print_key = true,
            "--sample-pdf" => sample_pdf = Some(PathBuf::from(value("--sample-pdf")?)),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if sample_pdf.is_some() {
        return Ok(Args {
            persons: 0,
            out: PathBuf::new(),
            print_key,
            seed,
            sample_pdf,
        });
    }
    Ok(Args {
        persons: persons.ok_or("--persons is required")?,
        out: out.ok_or("--out is required")?,
        print_key,
        seed,
        sample_pdf,
    })
}

#[allow(clippy::print_stdout)] // printing the key on stdout is this tool's job, on request
fn main() -> ExitCode {
    let mut raw = std::env::args().skip(1).peekable();
    if raw.peek().map(String::as_str) == Some("territory") {
        raw.next();
        return match territory_cli::parse(raw) {
            Ok(args) => territory_cli::run(&args),
            Err(message) => {
                eprintln!("tandem-seed: {message}\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let args = match parse_args(raw) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("tandem-seed: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.sample_pdf {
        return sample_pdf(dir, args.seed);
    }
    if args.out.exists() {
        eprintln!(
            "tandem-seed: {} already exists; refusing to overwrite it",
            args.out.display()
        );
        return ExitCode::from(2);
    }

    let mut key = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(&mut key[..]);
    // A fixed reference instant keeps the content identical for a given seed.
    let now = Utc
        .with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let started = Instant::now();
    let persons = tandem_seed::synthetic_persons(args.persons, args.seed, now);
    let profile = tandem_seed::synthetic_profile(args.seed);
    let diagnostics = match tandem_seed::synthetic_diagnostics(&persons, &profile, args.seed, now) {
        Ok(diagnostics) => diagnostics,
        Err(error) => {
            eprintln!("tandem-seed: a generated diagnostic was refused: {error}");
            return ExitCode::FAILURE;
        }
    };
    let written = CaseFile::create(&args.out, &key).and_then(|mut file| {
        file.save_profile(&profile)?;
        file.insert_persons(&persons)?;
        file.insert_diagnostics(&diagnostics)
    });
    match written {
        Ok(()) => {}
        Err(StoreError::AlreadyExists) => {
            eprintln!(
                "tandem-seed: {} already exists; refusing to overwrite it",
                args.out.display()
            );
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("tandem-seed: cannot write {}: {error}", args.out.display());
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "tandem-seed: wrote {} persons and {} diagnostic versions to {} in {} ms",
        args.persons,
        diagnostics.len(),
        args.out.display(),
        started.elapsed().as_millis()
    );
    if args.print_key {
        let hex: Zeroizing<String> =
            Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect());
        println!("key={}", hex.as_str());
    } else {
        eprintln!("tandem-seed: key not printed (use --print-key): the file cannot be opened");
    }
    ExitCode::SUCCESS
}

fn sample_pdf(dir: &std::path::Path, seed: u64) -> ExitCode {
    if let Err(error) = std::fs::create_dir_all(dir) {
        eprintln!("tandem-seed: cannot create {}: {error}", dir.display());
        return ExitCode::FAILURE;
    }
    let now = Utc
        .with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    match tandem_seed::write_sample_pdfs(dir, seed, now) {
        Ok(paths) => {
            for path in paths {
                eprintln!("tandem-seed: wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tandem-seed: {error}");
            ExitCode::FAILURE
        }
    }
}
