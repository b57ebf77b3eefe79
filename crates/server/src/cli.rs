//! Command line: `serve` (the default) and `admin …`. Output goes to the writer it is given, so
//! tests read it; the exit code is what the shell sees.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use uuid::Uuid;

use crate::audit::Verdict;
use crate::store::{Role, Store};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

pub const USAGE: &str = "usage:
  tandem-server [--data-dir DIR] [serve] [--listen ADDR]
  tandem-server [--data-dir DIR] admin structure add NAME --kind KIND
  tandem-server [--data-dir DIR] admin device add --structure ID --name NAME --role social|employment
  tandem-server [--data-dir DIR] admin device revoke ID
  tandem-server [--data-dir DIR] admin audit verify
  tandem-server [--data-dir DIR] admin status";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}\n{USAGE}")]
    Usage(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve { listen: SocketAddr },
    Admin(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub data_dir: Option<PathBuf>,
    pub command: Command,
}

pub fn parse(args: &[String]) -> Result<Invocation, CliError> {
    let mut data_dir = None;
    let mut listen = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value(&mut it, "--data-dir")?)),
            "--listen" if rest.first().map(String::as_str) != Some("admin") => {
                listen = Some(value(&mut it, "--listen")?)
            }
            _ => rest.push(arg.clone()),
        }
    }
    let command = match rest.first().map(String::as_str) {
        None | Some("serve") if rest.len() <= 1 => {
            let raw = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
            let listen: SocketAddr = raw
                .parse()
                .map_err(|_| CliError::Usage(format!("--listen: not an address: {raw}")))?;
            Command::Serve { listen }
        }
        Some("admin") => Command::Admin(rest[1..].to_vec()),
        _ => {
            return Err(CliError::Usage(format!(
                "unknown command: {}",
                rest.join(" ")
            )))
        }
    };
    Ok(Invocation { data_dir, command })
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<String, CliError> {
    it.next()
        .cloned()
        .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
}

/// Plain HTTP carries personal data in clear: only on loopback until TLS is built.
pub fn check_listen(listen: SocketAddr) -> Result<(), CliError> {
    if listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "refusing to serve plain HTTP on {listen}: only loopback addresses (127.0.0.1, ::1) \
             are allowed without TLS, and TLS is not built yet"
        )))
    }
}

/// The data folder: `--data-dir`, else the OS's data folder for the server.
pub fn data_dir(explicit: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let dir = match explicit {
        Some(dir) => dir,
        None => directories::ProjectDirs::from("fr", "Tandem", "tandem-server")
            .ok_or_else(|| CliError::Refused("no home folder: pass --data-dir".into()))?
            .data_dir()
            .to_path_buf(),
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs an admin command; `Ok(false)` means "exit 1" (a failed verification).
pub fn admin(store: &mut Store, args: &[String], out: &mut impl Write) -> Result<bool, CliError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let now = crate::now_ms();
    match words.as_slice() {
        ["structure", "add", name, "--kind", kind] => {
            let id = store.add_structure(name, kind, now)?;
            writeln!(out, "{id}")?;
        }
        ["device", "add", rest @ ..] => {
            let flag = |name: &str| -> Result<&str, CliError> {
                rest.iter()
                    .position(|w| *w == name)
                    .and_then(|i| rest.get(i + 1).copied())
                    .ok_or_else(|| CliError::Usage(format!("device add needs {name}")))
            };
            let structure = parse_id(flag("--structure")?)?;
            let name = flag("--name")?;
            let role = Role::parse(flag("--role")?)
                .ok_or_else(|| CliError::Usage("--role is social or employment".into()))?;
            let (id, token) = store.add_device(structure, name, role, now)?;
            writeln!(out, "device {id}")?;
            writeln!(out, "token {token}")?;
            writeln!(out, "The token is shown once: give it to the device now.")?;
        }
        ["device", "revoke", id] => {
            store.revoke_device(parse_id(id)?)?;
            writeln!(
                out,
                "device {id} revoked: it will be told to wipe its case file"
            )?;
        }
        ["audit", "verify"] => match store.verify_audit()? {
            Verdict::Intact { rows } => writeln!(out, "audit chain intact: {rows} rows")?,
            Verdict::Broken { seq } => {
                writeln!(out, "audit chain broken at seq {seq}")?;
                return Ok(false);
            }
        },
        ["status"] => {
            let s = store.status()?;
            writeln!(out, "structures {}", s.structures)?;
            writeln!(out, "devices {} ({} revoked)", s.devices, s.revoked_devices)?;
            writeln!(out, "persons {}", s.persons)?;
            writeln!(out, "changes {}", s.changes)?;
            writeln!(out, "open conflicts {}", s.open_conflicts)?;
            writeln!(out, "audit rows {}", s.audit_rows)?;
            writeln!(out, "commit sequence {}", s.head_seq)?;
        }
        _ => {
            return Err(CliError::Usage(format!(
                "unknown admin command: {}",
                words.join(" ")
            )))
        }
    }
    Ok(true)
}

fn parse_id(raw: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(raw).map_err(|_| CliError::Usage(format!("not an id: {raw}")))
}
