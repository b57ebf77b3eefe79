//! `tandem-seed territory …`: fills a territory server's database (see `tandem_seed::territory`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use tandem_seed::territory::{seed_territory, write_tokens, TerritoryPlan};
use tandem_server::Store;

/// Where the tokens go, inside the data folder.
pub const TOKENS_FILE: &str = "seed-tokens.tsv";

#[derive(Debug)]
pub struct Args {
    data_dir: PathBuf,
    database_url: Option<String>,
    plan: TerritoryPlan,
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut data_dir, mut database_url) = (None, None);
    let (mut structures, mut caseworkers, mut persons) = (None, None, None);
    let (mut seed, mut diagnostics) = (42u64, true);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let mut count = |name: &str| -> Result<usize, String> {
            let raw = value(name)?;
            raw.parse()
                .map_err(|_| format!("{name}: not a count: {raw}"))
        };
        match arg.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--database-url" => database_url = Some(value("--database-url")?),
            "--structures" => structures = Some(count("--structures")?),
            "--caseworkers" => caseworkers = Some(count("--caseworkers")?),
            "--persons" => persons = Some(count("--persons")?),
            "--seed" => {
                let raw = value("--seed")?;
                seed = raw
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {raw}"))?;
            }
            "--no-diagnostics" => diagnostics = false,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Args {
        data_dir: data_dir.ok_or("--data-dir is required")?,
        database_url,
        plan: TerritoryPlan {
            structures: structures.ok_or("--structures is required")?,
            caseworkers: caseworkers.ok_or("--caseworkers is required")?,
            persons: persons.ok_or("--persons is required")?,
            seed,
            diagnostics,
        },
    })
}

pub fn run(args: &Args) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&args.data_dir) {
        eprintln!(
            "tandem-seed: cannot create {}: {e}",
            args.data_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let tokens = args.data_dir.join(TOKENS_FILE);
    if tokens.exists() {
        eprintln!(
            "tandem-seed: {} already exists; refusing to overwrite it",
            tokens.display()
        );
        return ExitCode::from(2);
    }
    let mut store = match open_store(args) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("tandem-seed: cannot open the server's database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let now = Utc
        .with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let started = Instant::now();
    let territory = match seed_territory(&mut store, &args.plan, now, tandem_server::now_ms()) {
        Ok(territory) => territory,
        Err(e) => {
            eprintln!("tandem-seed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = write_tokens(&tokens, &territory) {
        eprintln!("tandem-seed: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "tandem-seed: {} structures, {} devices, {} persons, {} diagnostics, {} changes in {} ms; \
         tokens in {}",
        territory.structures.len(),
        territory.devices.len(),
        territory.persons.len(),
        territory.diagnostics,
        territory.changes,
        started.elapsed().as_millis(),
        tokens.display()
    );
    ExitCode::SUCCESS
}

fn open_store(args: &Args) -> Result<Store, String> {
    match &args.database_url {
        None => Store::open(&args.data_dir).map_err(|e| e.to_string()),
        Some(url) => Store::open_postgres(url).map_err(|e| e.to_string()),
    }
}
