//! The app's use-cases, testable without a window: profile creation, unlock and lock, and the
//! person operations. Tauri commands are thin adapters over these methods.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::diagnostic::{
    CaseworkerIdentity, Diagnostic, DiagnosticEdit, DiagnosticSummary, Referentiel, RomeMatch,
};
use tandem_domain::diagnostic_rules::{self as rules, EditContext};
use tandem_domain::rome::RomeIndex;
use tandem_domain::{referentiel, NewPerson, NewProfile, Person, PersonField, PersonList, Profile};
use tandem_keys::{DbKey, KeyError, Keychain, WrappedKey};
use tandem_print::PrintInput;
use tandem_store::CaseFile;
use ts_rs::TS;
use uuid::Uuid;

use crate::error::AppError;
use crate::paths::{self, Paths};
use crate::printing::Printer;

mod followup;
mod sync;
pub use sync::{normalise_code, normalise_server_url, run_worker};

/// Opens the OS keychain for a profile. Tests give a mock store; the app gives the native one.
pub type KeychainProvider = Arc<dyn Fn(&str) -> Result<Keychain, KeyError> + Send + Sync>;

/// What the UI needs to know to pick its first screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AppState {
    FirstRun,
    Locked,
    Unlocked { profile: Profile },
}

/// The most persons a list or search returns at once; the UI says how many match in all.
pub const LIST_LIMIT: u32 = 200;

/// Which printed summary: the person's plain-French one, or the professionals' full one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Person,
    Professional,
}

/// The folder under the data folder where a PDF waits for the printing system.
const PRINT_SPOOL: &str = "print";

fn remove_spooled_pdfs(spool: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(spool) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.path().extension().is_some_and(|e| e == "pdf") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The most job titles a ROME search returns.
pub const ROME_LIMIT: usize = 30;

struct Session {
    case_file: CaseFile,
    profile: Profile,
}

pub struct AppCore {
    paths: Paths,
    keychain: KeychainProvider,
    session: Mutex<Option<Session>>,
    clock: fn() -> DateTime<Utc>,
    printer: Printer,
    sync: sync::SyncRuntime,
}

impl AppCore {
    pub fn new(paths: Paths, keychain: KeychainProvider) -> Self {
        // A print job interrupted by a crash may have left a PDF (personal data) in the spool.
        remove_spooled_pdfs(&paths.data_dir.join(PRINT_SPOOL));
        AppCore {
            paths,
            keychain,
            session: Mutex::new(None),
            clock: Utc::now,
            printer: Printer::system(),
            sync: sync::SyncRuntime::default(),
        }
    }

    /// The profile of this laptop: the one directory under `profiles/` holding a wrapped key.
    /// (The layout allows several profiles; the first-run screen creates one.)
    fn existing_profile_dir(&self) -> Result<Option<(String, PathBuf)>, AppError> {
        let dir = self.paths.profiles_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut found: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| paths::wrapped_key(&e.path()).is_file())
            .filter_map(|e| Some((e.file_name().to_str()?.to_string(), e.path())))
            .filter(|(name, _)| Uuid::parse_str(name).is_ok())
            .collect();
        found.sort();
        Ok(found.into_iter().next())
    }

    fn session(&self) -> MutexGuard<'_, Option<Session>> {
        // A poisoned lock means a panic mid-command; the case file itself is transactional,
        // so carrying on with the inner value is safe.
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn state(&self) -> Result<AppState, AppError> {
        if let Some(session) = self.session().as_ref() {
            return Ok(AppState::Unlocked {
                profile: session.profile.clone(),
            });
        }
        Ok(match self.existing_profile_dir()? {
            Some(_) => AppState::Locked,
            None => AppState::FirstRun,
        })
    }

    /// First run: validates the form, makes a key, stores it in the keychain and wraps a copy with
    /// the passphrase, creates the case file, and leaves the app unlocked. All or nothing: the
    /// profile directory appears under its final name only once everything is in place.
    pub fn create_profile(&self, input: &NewProfile) -> Result<Profile, AppError> {
        if self.existing_profile_dir()?.is_some() {
            return Err(AppError::ProfileExists);
        }
        let id = Uuid::new_v4();
        let profile = Profile::create(input, id)?;
        let id_text = id.to_string();
        let keychain = (self.keychain)(&id_text)?;
        keychain.probe()?;

        let key = DbKey::generate();
        let staging = self
            .paths
            .profiles_dir()
            .join(format!(".creating-{id_text}"));
        let result = (|| -> Result<CaseFile, AppError> {
            std::fs::create_dir_all(&staging)?;
            let wrapped = WrappedKey::wrap(&key, &input.passphrase, id_text.as_bytes())?;
            wrapped.write(&paths::wrapped_key(&staging))?;
            let mut case_file = CaseFile::create(&paths::case_file(&staging), key.as_bytes())?;
            case_file.save_profile(&profile)?;
            drop(case_file);
            keychain.store(&key)?;
            let final_dir = self.paths.profile_dir(&id_text);
            std::fs::rename(&staging, &final_dir)?;
            Ok(CaseFile::open(
                &paths::case_file(&final_dir),
                key.as_bytes(),
            )?)
        })();
        match result {
            Ok(case_file) => {
                log::info!("profile created");
                self.clear_revoked();
                *self.session() = Some(Session {
                    case_file,
                    profile: profile.clone(),
                });
                Ok(profile)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                let _ = keychain.delete();
                Err(e)
            }
        }
    }

    /// Unlocks with the passphrase. The passphrase unwraps the key copy kept beside the file; the
    /// keychain must be reachable (Tandem never opens the file without it). When its entry is
    /// missing (new OS profile, keyring reset) it is restored from the unwrapped copy.
    pub fn unlock(&self, passphrase: &str) -> Result<Profile, AppError> {
        let (id, dir) = self.existing_profile_dir()?.ok_or(AppError::NoProfile)?;
        let keychain = (self.keychain)(&id)?;
        keychain.probe()?;
        let wrapped = WrappedKey::read(&paths::wrapped_key(&dir))?;
        let key = wrapped.unwrap(passphrase, id.as_bytes())?;
        match keychain.load() {
            Ok(stored) if stored == key => {}
            Ok(_) => {
                log::warn!("keychain entry differed from the passphrase copy; restored it");
                keychain.store(&key)?;
            }
            Err(KeyError::NoKeychainEntry) => {
                log::info!("keychain entry missing; restored it from the passphrase copy");
                keychain.store(&key)?;
            }
            Err(e) => return Err(e.into()),
        }
        let case_file = CaseFile::open(&paths::case_file(&dir), key.as_bytes())?;
        let profile = case_file.profile()?.ok_or(AppError::NoProfile)?;
        *self.session() = Some(Session {
            case_file,
            profile: profile.clone(),
        });
        log::info!("unlocked");
        self.nudge_sync();
        Ok(profile)
    }

    /// Closes the case file; the key leaves memory with it.
    pub fn lock(&self) {
        if self.session().take().is_some() {
            log::info!("locked");
        }
    }

    fn with_session<T>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        if self.sync.revoked.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(AppError::Sync(tandem_sync_client::SyncError::DeviceRevoked));
        }
        let mut guard = self.session();
        let session = guard.as_mut().ok_or(AppError::Locked)?;
        f(session)
    }

    pub fn set_lock_after_minutes(&self, minutes: u32) -> Result<Profile, AppError> {
        self.with_session(|s| {
            s.profile = s.case_file.set_lock_after_minutes(minutes)?;
            Ok(s.profile.clone())
        })
    }

    pub fn search_persons(&self, query: &str) -> Result<PersonList, AppError> {
        self.with_session(|s| Ok(s.case_file.search_persons(query, LIST_LIMIT)?))
    }

    pub fn create_person(&self, input: &NewPerson) -> Result<Person, AppError> {
        let now = (self.clock)();
        self.with_session(|s| Ok(s.case_file.create_person(input, now)?))
    }

    pub fn get_person(&self, id: Uuid) -> Result<Person, AppError> {
        self.with_session(|s| Ok(s.case_file.person(id)?))
    }

    /// Deletes a file created by mistake (see [`tandem_store::CaseFile::delete_person`]); on an
    /// enrolled laptop the next sync removes it from the other structures' laptops too.
    pub fn delete_person(&self, id: Uuid) -> Result<(), AppError> {
        let now = (self.clock)();
        let tombstone = self.with_session(|s| Ok(s.case_file.delete_person(id, now)?))?;
        if tombstone {
            self.sync.wake.notify_one();
        }
        Ok(())
    }

    /// Autosave: one field, validated, written with its outbox entry in one transaction.
    pub fn update_person_field(
        &self,
        id: Uuid,
        field: PersonField,
        value: &str,
    ) -> Result<Person, AppError> {
        let now = (self.clock)();
        self.with_session(|s| Ok(s.case_file.update_person_field(id, field, value, now)?))
    }

    pub fn referentiel(&self) -> &'static Referentiel {
        referentiel::embedded()
    }

    /// Job titles of the ROME for the project's target jobs, by any word, accents ignored.
    pub fn search_rome(&self, query: &str) -> Vec<RomeMatch> {
        RomeIndex::embedded().search(query, ROME_LIMIT)
    }

    /// Every diagnostic version of a person, newest first.
    pub fn list_diagnostics(&self, person_id: Uuid) -> Result<Vec<DiagnosticSummary>, AppError> {
        self.with_session(|s| Ok(s.case_file.diagnostics_of_person(person_id)?))
    }

    /// Starts a new joint diagnostic for a person: a draft run by this caseworker, on the
    /// référentiel this build ships.
    pub fn start_diagnostic(&self, person_id: Uuid) -> Result<Diagnostic, AppError> {
        let now = (self.clock)();
        self.with_session(|s| {
            s.case_file.person(person_id)?;
            let caseworker = CaseworkerIdentity {
                name: s.profile.caseworker_name.clone(),
                structure: s.profile.structure_name.clone(),
                role: s.profile.role,
                contact: String::new(),
            };
            let d = rules::new_draft(
                Uuid::now_v7(),
                Uuid::now_v7(),
                person_id,
                caseworker,
                referentiel::embedded(),
                now,
            );
            s.case_file.insert_diagnostic(&d)?;
            Ok(d)
        })
    }

    pub fn get_diagnostic(&self, id: Uuid) -> Result<Diagnostic, AppError> {
        self.with_session(|s| Ok(s.case_file.diagnostic(id)?))
    }

    /// Autosave of the interview screen: one edit, validated by the domain rules, written with
    /// its outbox entry in one transaction. A finalised diagnostic refuses every edit.
    pub fn edit_diagnostic(&self, id: Uuid, edit: &DiagnosticEdit) -> Result<Diagnostic, AppError> {
        let now = (self.clock)();
        self.with_session(|s| {
            let by = s.profile.caseworker_name.clone();
            let ctx = EditContext {
                referentiel: referentiel::embedded(),
                rome: RomeIndex::embedded(),
                now,
                by: &by,
            };
            Ok(s.case_file
                .edit_diagnostic(id, edit, now, |d| rules::apply_edit(d, edit, &ctx))?)
        })
    }

    /// Finalises once the three sign-offs are given and nothing is missing.
    pub fn finalise_diagnostic(&self, id: Uuid) -> Result<Diagnostic, AppError> {
        self.edit_diagnostic(id, &DiagnosticEdit::Finalise)
    }

    /// Starts the next version of a finalised diagnostic; the finalised one stays as it is.
    pub fn amend_diagnostic(&self, id: Uuid) -> Result<Diagnostic, AppError> {
        let now = (self.clock)();
        self.with_session(|s| {
            let current = s.case_file.diagnostic(id)?;
            let next = rules::amend(&current, Uuid::now_v7(), now)?;
            s.case_file.insert_diagnostic(&next)?;
            Ok(next)
        })
    }

    /// Uses another program than the system's `lp` to print (tests check what is sent).
    pub fn with_printer(mut self, printer: Printer) -> Self {
        self.printer = printer;
        self
    }

    /// Renders a printed summary of a diagnostic. Notes reserved to the social field reach the
    /// professionals' version only for a social-role caseworker or with the person's consent.
    pub fn diagnostic_pdf(&self, id: Uuid, audience: Audience) -> Result<Vec<u8>, AppError> {
        let now = (self.clock)();
        self.with_session(|s| {
            let d = s.case_file.diagnostic(id)?;
            let person = s.case_file.person(d.person_id)?;
            let input = PrintInput {
                diagnostic: &d,
                person: &person,
                referentiel: referentiel::embedded(),
                reader_role: s.profile.role,
                next_appointment: Some(d.next_appointment.clone()).filter(|a| !a.is_empty()),
                caseworker_contact: d.caseworker.contact.clone(),
                co_interviewer_contact: d.co_interviewer.contact.clone(),
                generated_at: now,
            };
            Ok(match audience {
                Audience::Person => tandem_print::render_person_summary(&input)?,
                Audience::Professional => tandem_print::render_professional_summary(&input)?,
            })
        })
    }

    /// Prints a summary on the default printer. The PDF goes through a private temporary file
    /// (it holds personal data) that is removed once the system has queued the job.
    pub fn print_diagnostic(&self, id: Uuid, audience: Audience) -> Result<(), AppError> {
        let pdf = self.diagnostic_pdf(id, audience)?;
        let spool = self.paths.data_dir.join(PRINT_SPOOL);
        std::fs::create_dir_all(&spool)?;
        let mut file = tempfile::Builder::new()
            .prefix("tandem-")
            .suffix(".pdf")
            .tempfile_in(&spool)?;
        std::io::Write::write_all(&mut file, &pdf)?;
        file.as_file().sync_all()?;
        let result = self.printer.print(file.path());
        if let Err(e) = &result {
            log::warn!("printing failed: {e}");
        }
        Ok(result?)
    }

    /// Writes a summary where the caseworker chose to save it.
    pub fn save_diagnostic_pdf(
        &self,
        id: Uuid,
        audience: Audience,
        path: &std::path::Path,
    ) -> Result<(), AppError> {
        let pdf = self.diagnostic_pdf(id, audience)?;
        let tmp = path.with_extension("pdf.part");
        std::fs::write(&tmp, &pdf)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// A file name for the saved summary: no personal data beyond what the caseworker sees.
    pub fn suggested_pdf_name(&self, id: Uuid, audience: Audience) -> Result<String, AppError> {
        self.with_session(|s| {
            let d = s.case_file.diagnostic(id)?;
            let person = s.case_file.person(d.person_id)?;
            let who = format!("{} {}", person.first_name, person.last_name);
            let kind = match audience {
                Audience::Person => "diagnostic",
                Audience::Professional => "diagnostic-complet",
            };
            let date = d.date.unwrap_or_default();
            let raw = format!("{kind} {who} {date}");
            let name: String = raw
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            Ok(format!("{}.pdf", name.trim_matches('-')))
        })
    }
}
