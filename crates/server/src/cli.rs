//! Command line: `serve` (the default) and `admin …`. Output goes to the writer it is given, so
//! tests read it; the exit code is what the shell sees.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use uuid::Uuid;

use crate::audit::Verdict;
use crate::store::{Role, Store, DEFAULT_CODE_VALID_HOURS};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

pub const USAGE: &str = "usage:
  tandem-server [--data-dir DIR] [serve] [--listen ADDR] [--tls-cert CERT.pem --tls-key KEY.pem]
  tandem-server [--data-dir DIR] admin structure add NAME --kind KIND
      KIND: departement | france_travail | mission_locale | cap_emploi | ccas | plie | association | other
  tandem-server [--data-dir DIR] admin caseworker add --structure ID --name NAME --role social|employment
  tandem-server [--data-dir DIR] admin enrolment add --caseworker ID [--valid-hours 72]
  tandem-server [--data-dir DIR] admin device add --structure ID --name NAME --role social|employment
  tandem-server [--data-dir DIR] admin device revoke ID
  tandem-server [--data-dir DIR] admin person erase ID
  tandem-server [--data-dir DIR] admin follow-up add --person ID --structure ID --consent yes|no [--share-social-notes]
  tandem-server [--data-dir DIR] admin audit verify
  tandem-server [--data-dir DIR] admin status
Every command takes --database-url postgres://USER@HOST:PORT/DB to use PostgreSQL instead of the
SQLite file in the data folder.";

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
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve {
        listen: SocketAddr,
        tls: Option<TlsFiles>,
    },
    Admin(Vec<String>),
}

/// The PEM certificate chain and private key `serve` uses for HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub data_dir: Option<PathBuf>,
    /// `--database-url postgres://…`: PostgreSQL instead of the SQLite file in the data folder.
    pub database_url: Option<String>,
    pub command: Command,
}

pub fn parse(args: &[String]) -> Result<Invocation, CliError> {
    let mut data_dir = None;
    let mut database_url = None;
    let mut listen = None;
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value(&mut it, "--data-dir")?)),
            "--database-url" => database_url = Some(value(&mut it, "--database-url")?),
            "--listen" if rest.first().map(String::as_str) != Some("admin") => {
                listen = Some(value(&mut it, "--listen")?)
            }
            "--tls-cert" if rest.first().map(String::as_str) != Some("admin") => {
                tls_cert = Some(PathBuf::from(value(&mut it, "--tls-cert")?))
            }
            "--tls-key" if rest.first().map(String::as_str) != Some("admin") => {
                tls_key = Some(PathBuf::from(value(&mut it, "--tls-key")?))
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
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => {
                    return Err(CliError::Usage(
                        "--tls-cert and --tls-key go together".into(),
                    ))
                }
            };
            Command::Serve { listen, tls }
        }
        Some("admin") => Command::Admin(rest[1..].to_vec()),
        _ => {
            return Err(CliError::Usage(format!(
                "unknown command: {}",
                rest.join(" ")
            )))
        }
    };
    Ok(Invocation {
        data_dir,
        database_url,
        command,
    })
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<String, CliError> {
    it.next()
        .cloned()
        .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
}

/// Plain HTTP carries personal data in clear: without TLS, only on loopback. With TLS any
/// address is allowed.
pub fn check_listen(listen: SocketAddr, tls: bool) -> Result<(), CliError> {
    if tls || listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "refus de servir en HTTP clair sur {listen} : sans TLS, seules les adresses de \
             bouclage sont permises ; donnez --tls-cert et --tls-key pour servir sur le réseau \
             (refusing plain HTTP on {listen}: only loopback addresses (127.0.0.1, ::1) are \
             allowed without TLS; pass --tls-cert and --tls-key to serve on the network)"
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
            if tandem_sync::structure_kind_label(kind).is_none() {
                return Err(CliError::Usage(format!("unknown structure kind: {kind}")));
            }
            let id = store.add_structure(name, kind, now)?;
            writeln!(out, "{id}")?;
        }
        ["caseworker", "add", rest @ ..] => {
            let structure = parse_id(flag(rest, "caseworker add", "--structure")?)?;
            let name = flag(rest, "caseworker add", "--name")?;
            let role = parse_role(flag(rest, "caseworker add", "--role")?)?;
            let id = store.add_caseworker(structure, name, role, now)?;
            writeln!(out, "{id}")?;
        }
        ["enrolment", "add", rest @ ..] => {
            let caseworker = parse_id(flag(rest, "enrolment add", "--caseworker")?)?;
            let hours = match optional_flag(rest, "--valid-hours") {
                None => DEFAULT_CODE_VALID_HOURS,
                Some(raw) => raw.parse().map_err(|_| {
                    CliError::Usage(format!("--valid-hours: not a number of hours: {raw}"))
                })?,
            };
            let code = store.add_enrolment_code(caseworker, hours, now)?;
            writeln!(out, "code {}", code.code)?;
            writeln!(out, "expires {}", format_utc(code.expires_ms))?;
            writeln!(
                out,
                "The code is shown once and works once: give it to the caseworker now."
            )?;
        }
        ["person", "erase", id] => {
            let erasure = store.erase_person(parse_id(id)?, now)?;
            writeln!(
                out,
                "person {id} erased: {} journal entries purged, {} structures will remove it",
                erasure.changes, erasure.structures
            )?;
        }
        ["follow-up", "add", rest @ ..] => {
            let person = parse_id(flag(rest, "follow-up add", "--person")?)?;
            let structure = parse_id(flag(rest, "follow-up add", "--structure")?)?;
            let consent = match flag(rest, "follow-up add", "--consent")? {
                "yes" => true,
                "no" => false,
                other => {
                    return Err(CliError::Usage(format!(
                        "--consent takes yes or no, not {other}"
                    )))
                }
            };
            let share_social_notes = rest.contains(&"--share-social-notes");
            store.admin_follow_up(
                &tandem_sync::FollowUpRequest {
                    person_id: person,
                    structure_id: structure,
                    consent,
                    share_social_notes,
                },
                now,
            )?;
            writeln!(
                out,
                "follow-up of {person} by {structure}: consent {consent}"
            )?;
        }
        ["device", "add", rest @ ..] => {
            let structure = parse_id(flag(rest, "device add", "--structure")?)?;
            let name = flag(rest, "device add", "--name")?;
            let role = parse_role(flag(rest, "device add", "--role")?)?;
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
            writeln!(out, "engine {}", store.engine())?;
            writeln!(out, "structures {}", s.structures)?;
            writeln!(out, "caseworkers {}", s.caseworkers)?;
            writeln!(out, "devices {} ({} revoked)", s.devices, s.revoked_devices)?;
            writeln!(out, "persons {}", s.persons)?;
            writeln!(out, "changes {}", s.changes)?;
            writeln!(out, "open conflicts {}", s.open_conflicts)?;
            writeln!(out, "audit rows {}", s.audit_rows)?;
            writeln!(out, "commit sequence {}", s.head_seq)?;
            for d in store.devices()? {
                let caseworker = match &d.caseworker {
                    Some((id, name)) => format!("{name} ({id})"),
                    None => "-".to_string(),
                };
                writeln!(
                    out,
                    "device {} \"{}\" structure \"{}\" ({}) caseworker {} role {}{}",
                    d.id,
                    d.name,
                    d.structure_name,
                    d.structure_id,
                    caseworker,
                    d.role.as_str(),
                    if d.revoked { " revoked" } else { "" }
                )?;
            }
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

fn flag<'a>(rest: &[&'a str], command: &str, name: &str) -> Result<&'a str, CliError> {
    optional_flag(rest, name).ok_or_else(|| CliError::Usage(format!("{command} needs {name}")))
}

fn optional_flag<'a>(rest: &[&'a str], name: &str) -> Option<&'a str> {
    rest.iter()
        .position(|w| *w == name)
        .and_then(|i| rest.get(i + 1).copied())
}

fn parse_role(raw: &str) -> Result<Role, CliError> {
    Role::parse(raw).ok_or_else(|| CliError::Usage("--role is social or employment".into()))
}

/// `YYYY-MM-DD HH:MM UTC`, from milliseconds since the epoch (civil-from-days, proleptic
/// Gregorian calendar).
fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn parse_id(raw: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(raw).map_err(|_| CliError::Usage(format!("not an id: {raw}")))
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(format_utc(1_709_210_096_000), "2024-02-29 12:34 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
