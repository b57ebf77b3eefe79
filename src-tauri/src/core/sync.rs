//! The app's side of sync: enrolment, the background worker, the indicator's status, the
//! conflicts screen, and the wipe of a revoked laptop. The protocol work itself is
//! `tandem-sync-client`; this module decides when it runs and what the UI sees.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::PersonField;
use tandem_keys::KeyError;
use tandem_store::{CaseFile, OpenConflict, StoreError};
use tandem_sync_client::{sync_once, LocalFile, ServerClient, SyncError, SyncOptions};
use uuid::Uuid;

use super::{AppCore, Session};
use crate::error::AppError;
use crate::sync_view::{
    ConflictOption, ConflictView, RefusedChangeView, ShareView, StructureView, SyncState,
    SyncStatus,
};

/// How often the worker syncs when nothing asks it to.
const PERIOD: Duration = Duration::from_secs(60);
/// First and longest wait after a transient failure (server unreachable): doubles in between.
const BACKOFF_MIN: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Beside the case file: what enrolment said about this laptop's account (no personal data of
/// the persons followed). The token itself lives in the OS keychain.
const ENROLMENT_FILE: &str = "enrolment.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Enrolment {
    #[serde(default)]
    structure_id: Option<Uuid>,
    structure_name: String,
    caseworker_name: String,
    role: String,
}

/// What the worker is doing, for the indicator. No I/O to read it.
#[derive(Debug, Default)]
struct Live {
    syncing: bool,
    progress: Option<f64>,
    /// The last attempt's failure, if it failed: `(offline?, French message)`.
    failure: Option<(bool, String)>,
}

/// Sync's share of the app state.
#[derive(Default)]
pub(crate) struct SyncRuntime {
    live: Mutex<Live>,
    pub(super) wake: tokio::sync::Notify,
    /// Set when the server revoked this laptop and its case file was erased; cleared when a new
    /// profile is created. Every command but `app_state` and `create_profile` answers
    /// `device_revoked` meanwhile, so whatever screen is open learns it.
    pub(super) revoked: AtomicBool,
}

impl SyncRuntime {
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The case file as the sync engine takes it: only while unlocked, never across network I/O.
struct SessionFile<'a>(&'a AppCore);

impl LocalFile for SessionFile<'_> {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut CaseFile) -> Result<T, StoreError>,
    ) -> Result<T, SyncError> {
        let mut guard = self.0.session();
        let session = guard.as_mut().ok_or(SyncError::Locked)?;
        Ok(f(&mut session.case_file)?)
    }
}

/// A root certificate to trust besides the built-in ones, for a territory's trial server with a
/// self-signed certificate: `TANDEM_SERVER_CA`, or `server-ca.pem` in the data folder.
fn extra_root(core: &AppCore) -> Option<PathBuf> {
    std::env::var_os("TANDEM_SERVER_CA")
        .map(PathBuf::from)
        .or_else(|| Some(core.paths.data_dir.join("server-ca.pem")))
        .filter(|p| p.is_file())
}

/// Accepts `https://host[:port][/]`, and `http://` only for this computer (a server on
/// loopback): a device credential never travels in clear over a network.
pub fn normalise_server_url(raw: &str) -> Result<String, AppError> {
    let url = raw.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or(AppError::InvalidServerUrl)?;
    let host = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .rsplit_once(':')
        .map_or(rest.split('/').next().unwrap_or_default(), |(h, _)| h);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let ok = match scheme.to_ascii_lowercase().as_str() {
        "https" => !host.is_empty(),
        "http" => loopback,
        _ => false,
    };
    if !ok || rest.contains(char::is_whitespace) {
        return Err(AppError::InvalidServerUrl);
    }
    Ok(url.to_string())
}

/// `abcd efgh-jklm npqr` → `ABCD-EFGH-JKLM-NPQR`; anything but 16 letters and digits is refused.
pub fn normalise_code(raw: &str) -> Result<String, AppError> {
    let symbols: Vec<char> = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if symbols.len() != 16 || !symbols.iter().all(char::is_ascii_alphanumeric) {
        return Err(AppError::InvalidCodeFormat);
    }
    Ok(symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

fn device_name() -> String {
    std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .ok()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|n| n.trim().to_string())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "ordinateur Tandem".into())
}

impl AppCore {
    fn check_not_revoked(&self) -> Result<(), AppError> {
        if self.sync.revoked.load(Ordering::SeqCst) {
            return Err(AppError::Sync(SyncError::DeviceRevoked));
        }
        Ok(())
    }

    pub(crate) fn clear_revoked(&self) {
        self.sync.revoked.store(false, Ordering::SeqCst);
    }

    fn enrolment(&self, profile_id: Uuid) -> Option<Enrolment> {
        let path = self
            .paths
            .profile_dir(&profile_id.to_string())
            .join(ENROLMENT_FILE);
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// The indicator's state: cheap, no network.
    pub fn sync_status(&self) -> Result<SyncStatus, AppError> {
        self.check_not_revoked()?;
        let (state, counts, profile_id) = self.with_session(|s| {
            Ok((
                s.case_file.sync_state()?,
                s.case_file.sync_counts()?,
                s.profile.id,
            ))
        })?;
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let live = self.sync.live();
        let Some(state) = state else {
            return Ok(SyncStatus {
                state: SyncState::NotEnrolled,
                server_url: None,
                structure_name: None,
                progress: None,
                pending_changes: count(counts.pending),
                refused_changes: count(counts.refused),
                conflicts: count(counts.conflicts),
                last_synced_at: None,
                message: None,
            });
        };
        let (indicator, message) = if live.syncing {
            (SyncState::Syncing, None)
        } else {
            match &live.failure {
                Some((true, message)) => (SyncState::Offline, Some(message.clone())),
                Some((false, message)) => (SyncState::Error, Some(message.clone())),
                None if state.last_synced_at.is_some() => (SyncState::UpToDate, None),
                // Enrolled, first sync not done yet: it is on its way.
                None => (SyncState::Syncing, None),
            }
        };
        Ok(SyncStatus {
            state: indicator,
            server_url: Some(state.server_url),
            structure_name: self.enrolment(profile_id).map(|e| e.structure_name),
            progress: if live.syncing { live.progress } else { None },
            pending_changes: count(counts.pending),
            refused_changes: count(counts.refused),
            conflicts: count(counts.conflicts),
            last_synced_at: state.last_synced_at,
            message,
        })
    }

    /// Enrols this laptop with a territory server: the one-time code becomes a device
    /// credential kept in the OS keychain, and the first sync starts.
    pub async fn enrol_device(&self, server_url: &str, code: &str) -> Result<SyncStatus, AppError> {
        self.check_not_revoked()?;
        let url = normalise_server_url(server_url)?;
        let code = normalise_code(code)?;
        let (profile_id, enrolled) =
            self.with_session(|s| Ok((s.profile.id, s.case_file.sync_state()?.is_some())))?;
        if enrolled {
            return Err(AppError::AlreadyEnrolled);
        }
        let client = ServerClient::new(&url, extra_root(self).as_deref())?;
        let answer = client.enrol(&code, &device_name()).await?;
        let keychain = (self.keychain)(&profile_id.to_string())?;
        keychain.store_device_token(&answer.token)?;
        let enrolment = Enrolment {
            structure_id: Some(answer.structure_id),
            structure_name: answer.structure_name.clone(),
            caseworker_name: answer.caseworker_name.clone(),
            role: answer.role.clone(),
        };
        let dir = self.paths.profile_dir(&profile_id.to_string());
        std::fs::write(
            dir.join(ENROLMENT_FILE),
            serde_json::to_vec_pretty(&enrolment).map_err(std::io::Error::other)?,
        )?;
        self.with_session(|s| Ok(s.case_file.set_sync_state(&url, answer.device_id)?))?;
        log::info!("enrolled with the territory server");
        self.sync.live().failure = None;
        self.sync.wake.notify_one();
        self.sync_status()
    }

    /// Asks the worker to sync now; answers at once.
    pub fn sync_now(&self) -> Result<SyncStatus, AppError> {
        let status = self.sync_status()?;
        if status.state == SyncState::NotEnrolled {
            return Err(AppError::Sync(SyncError::NotEnrolled));
        }
        self.sync.wake.notify_one();
        Ok(status)
    }

    /// Open conflicts, as the conflicts screen shows them side by side.
    pub fn list_conflicts(&self) -> Result<Vec<ConflictView>, AppError> {
        self.check_not_revoked()?;
        self.with_session(|s| {
            let own_device = s.case_file.sync_state()?.map(|st| st.device_id);
            let authors = s.case_file.conflict_authors()?;
            let conflicts = s.case_file.conflicts()?;
            conflicts
                .into_iter()
                .map(|c| conflict_view(s, own_device, &authors, c))
                .collect()
        })
    }

    /// Local edits the server refused, oldest first, each with its reason in French.
    pub fn list_refused_changes(&self) -> Result<Vec<RefusedChangeView>, AppError> {
        self.check_not_revoked()?;
        self.with_session(|s| {
            let refused = s.case_file.refused_changes()?;
            refused
                .into_iter()
                .map(|r| {
                    let c = &r.change;
                    let register =
                        tandem_sync::register_key(&c.entity, &c.field, &c.value, c.mutation_id);
                    let (record, field_label) =
                        record_and_field(s, &c.entity, c.record_id, &c.field, &register);
                    Ok(RefusedChangeView {
                        mutation_id: c.mutation_id,
                        person_id: c.person_id,
                        person_name: person_name(s, c.person_id)?,
                        record,
                        field_label,
                        value: change_value_label(&c.entity, &c.value),
                        at: Utc
                            .timestamp_millis_opt(i64::try_from(c.hlc.wall_ms).unwrap_or(i64::MAX))
                            .single()
                            .unwrap_or(DateTime::<Utc>::MIN_UTC),
                        reason: refusal_reason(&r.reason),
                    })
                })
                .collect()
        })
    }

    /// Keeps one of a conflict's values: the file shows it, and the choice syncs like any edit.
    pub fn resolve_conflict(&self, conflict_id: &str, mutation_id: Uuid) -> Result<(), AppError> {
        self.check_not_revoked()?;
        let (record, register) = conflict_id
            .split_once('/')
            .and_then(|(r, reg)| Some((Uuid::parse_str(r).ok()?, reg)))
            .ok_or(AppError::Store(StoreError::NotFound))?;
        let now = (self.clock)();
        self.with_session(|s| {
            s.case_file
                .resolve_conflict(record, register, mutation_id, now)?;
            Ok(())
        })?;
        self.sync.wake.notify_one();
        Ok(())
    }

    /// A client for the enrolled server with this laptop's credential.
    fn enrolled_client(&self) -> Result<ServerClient, AppError> {
        let (profile_id, state) =
            self.with_session(|s| Ok((s.profile.id, s.case_file.sync_state()?)))?;
        let state = state.ok_or(AppError::Sync(SyncError::NotEnrolled))?;
        self.client_for(profile_id, &state.server_url)
    }

    /// A client for `server_url` carrying the profile's device credential from the keychain.
    fn client_for(&self, profile_id: Uuid, server_url: &str) -> Result<ServerClient, AppError> {
        let token = match (self.keychain)(&profile_id.to_string())?.load_device_token() {
            Ok(token) => token,
            Err(KeyError::NoKeychainEntry) => return Err(AppError::Sync(SyncError::NotEnrolled)),
            Err(e) => return Err(e.into()),
        };
        Ok(ServerClient::new(server_url, extra_root(self).as_deref())?.with_token(&*token))
    }

    /// The territory's other structures, to pick one the person agrees to share their file with.
    pub async fn list_structures(&self) -> Result<Vec<StructureView>, AppError> {
        self.check_not_revoked()?;
        let client = self.enrolled_client()?;
        let own = self
            .with_session(|s| Ok(self.enrolment(s.profile.id)))?
            .and_then(|e| e.structure_id);
        Ok(client
            .structures()
            .await?
            .into_iter()
            // This laptop's own structure already follows the person.
            .filter(|s| Some(s.id) != own)
            .map(|s| StructureView {
                id: s.id,
                name: s.name,
                kind_label: tandem_sync::structure_kind_label(&s.kind)
                    .unwrap_or_default()
                    .to_string(),
                kind: s.kind,
            })
            .collect())
    }

    /// Records on the server that the person agrees to share their file with a structure (and,
    /// if they say so, the notes reserved to the social field); that structure's laptops get the
    /// file at their next sync.
    pub async fn share_person(
        &self,
        person_id: Uuid,
        structure_id: Uuid,
        share_social_notes: bool,
    ) -> Result<(), AppError> {
        self.send_follow_up(person_id, structure_id, true, share_social_notes)
            .await?;
        log::info!("a person's file was shared with another structure");
        self.sync.wake.notify_one();
        Ok(())
    }

    /// One follow-up request for a person this laptop holds; a file the server does not hold
    /// for this structure is `NotOnServerYet`.
    async fn send_follow_up(
        &self,
        person_id: Uuid,
        structure_id: Uuid,
        consent: bool,
        share_social_notes: bool,
    ) -> Result<(), AppError> {
        self.check_not_revoked()?;
        self.with_session(|s| Ok(s.case_file.person(person_id).map(drop)?))?;
        let client = self.enrolled_client()?;
        let request = tandem_sync::FollowUpRequest {
            person_id,
            structure_id,
            consent,
            share_social_notes,
        };
        match client.follow_up(&request).await {
            Ok(()) => Ok(()),
            Err(SyncError::Forbidden) => Err(AppError::NotOnServerYet),
            Err(e) => Err(e.into()),
        }
    }

    /// The other structures that see a person's file with their consent.
    pub async fn list_shares(&self, person_id: Uuid) -> Result<Vec<ShareView>, AppError> {
        self.check_not_revoked()?;
        self.with_session(|s| Ok(s.case_file.person(person_id).map(drop)?))?;
        let client = self.enrolled_client()?;
        let own = self
            .with_session(|s| Ok(self.enrolment(s.profile.id)))?
            .and_then(|e| e.structure_id);
        match client.follow_up_of(person_id).await {
            Ok(entries) => Ok(entries
                .into_iter()
                .filter(|e| Some(e.structure_id) != own)
                .map(|e| ShareView {
                    structure_id: e.structure_id,
                    structure_name: e.structure_name,
                    share_social_notes: e.share_social_notes,
                })
                .collect()),
            Err(SyncError::Forbidden) => Err(AppError::NotOnServerYet),
            Err(e) => Err(e.into()),
        }
    }

    /// The person withdraws their consent for a structure: its laptops erase the file at their
    /// next sync, and it sees nothing more of it.
    pub async fn withdraw_share(
        &self,
        person_id: Uuid,
        structure_id: Uuid,
    ) -> Result<(), AppError> {
        self.send_follow_up(person_id, structure_id, false, false)
            .await?;
        log::info!("a structure's access to a person's file was withdrawn");
        Ok(())
    }

    /// One synchronisation, if the app is unlocked and enrolled. `Ok(false)` when there was
    /// nothing to do (locked, not enrolled).
    pub async fn sync_cycle(&self) -> Result<bool, AppError> {
        let Some((profile_id, state)) = ({
            let guard = self.session();
            match guard.as_ref() {
                Some(s) => s.case_file.sync_state()?.map(|st| (s.profile.id, st)),
                None => None,
            }
        }) else {
            return Ok(false);
        };
        let client = self.client_for(profile_id, &state.server_url)?;
        {
            let mut live = self.sync.live();
            live.syncing = true;
            live.progress = Some(0.0);
        }
        let result = sync_once(&SessionFile(self), &client, &SyncOptions::default(), |p| {
            self.sync.live().progress = p.fraction
        })
        .await;
        let mut live = self.sync.live();
        live.syncing = false;
        live.progress = None;
        match result {
            Ok(report) => {
                live.failure = None;
                log::info!(
                    "synced: {} pushed, {} refused, {} pulled, {} removed, {} conflicts open",
                    report.pushed,
                    report.refused,
                    report.pulled,
                    report.removed,
                    report.conflicts
                );
                Ok(true)
            }
            Err(SyncError::Locked) => Ok(false),
            Err(SyncError::DeviceRevoked) => {
                drop(live);
                self.wipe_revoked(profile_id);
                Err(AppError::Sync(SyncError::DeviceRevoked))
            }
            Err(e) => {
                live.failure = Some((e.is_transient(), e.to_string()));
                Err(AppError::Sync(e))
            }
        }
    }

    /// The server revoked this laptop: close and erase the case file, its key copy and the
    /// keychain entries. The engine already erased the personal data inside the file.
    fn wipe_revoked(&self, profile_id: Uuid) {
        log::warn!("this laptop was revoked by the territory server: erasing the local case file");
        self.sync.revoked.store(true, Ordering::SeqCst);
        self.lock();
        let id = profile_id.to_string();
        if let Ok(keychain) = (self.keychain)(&id) {
            let _ = keychain.delete_device_token();
            let _ = keychain.delete();
        }
        if let Err(e) = std::fs::remove_dir_all(self.paths.profile_dir(&id)) {
            log::error!("could not remove the revoked profile's folder: {e}");
        }
    }
}

/// The background worker: one supervised task for the app's life. It syncs every minute, at
/// once when asked (enrolment, « Synchroniser », a resolved conflict, unlock), and after a
/// transient failure waits 5 s, 10 s, … up to 5 min before trying again.
pub async fn run_worker(core: Arc<AppCore>) {
    loop {
        let task = tokio::spawn(worker_loop(core.clone()));
        match task.await {
            Ok(()) => return,
            Err(e) => {
                log::error!("the sync worker stopped ({e}); restarting it");
                core.sync.live().syncing = false;
                tokio::time::sleep(BACKOFF_MIN).await;
            }
        }
    }
}

async fn worker_loop(core: Arc<AppCore>) {
    let mut backoff: Option<Duration> = None;
    loop {
        let wait = backoff.unwrap_or(PERIOD);
        tokio::select! {
            _ = core.sync.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
        match core.sync_cycle().await {
            Ok(_) => backoff = None,
            Err(AppError::Sync(e)) if e.is_transient() => {
                backoff = Some(backoff.map_or(BACKOFF_MIN, |b| (b * 2).min(BACKOFF_MAX)));
            }
            Err(e) => {
                log::info!("sync did not complete: {:?}", e.code());
                backoff = Some(BACKOFF_MAX);
            }
        }
    }
}

impl AppCore {
    /// Wakes the worker (after unlock, so the indicator is fresh).
    pub(crate) fn nudge_sync(&self) {
        self.sync.wake.notify_one();
    }
}

fn person_field_label(name: &str) -> String {
    let label = match name {
        "first_name" => "Prénom",
        "last_name" => "Nom",
        "birth_date" => "Date de naissance",
        "email" => "Adresse e-mail",
        "phone" => "Téléphone",
        "address" => "Adresse",
        "postal_code" => "Code postal",
        "commune" => "Commune",
        "commune_insee" => "Code officiel de la commune (INSEE)",
        "caf_number" => "Numéro d’allocataire CAF",
        "france_travail_id" => "Identifiant France Travail",
        "rsa_status" => "Statut RSA",
        "rsa_since" => "Statut RSA depuis le",
        "job_seeker" => "Inscrit·e à France Travail",
        "job_seeker_since" => "Inscrit·e à France Travail depuis le",
        "rqth" => "RQTH",
        "rqth_until" => "RQTH valable jusqu’au",
        "droits_devoirs" => "Soumis·e aux droits et devoirs du RSA",
        "qpv" => "Habite un quartier prioritaire (QPV)",
        other => return format!("Champ « {other} »"),
    };
    debug_assert!(PersonField::ALL.iter().any(|f| f.name() == name));
    label.to_string()
}

fn diagnostic_register_label(register: &str) -> String {
    let (head, rest) = register.split_once('/').unwrap_or((register, ""));
    match head {
        "field" => format!("Diagnostic : {}", rest.replace('_', " ")),
        "grade" => format!("Diagnostic : appréciation du thème « {rest} »"),
        "situations" => format!("Diagnostic : situations du thème « {rest} »"),
        "note" => "Diagnostic : note".into(),
        "target_job" => "Diagnostic : métier recherché".into(),
        "objective" => "Diagnostic : objectif".into(),
        "action" => "Diagnostic : action".into(),
        "sign_off" => "Diagnostic : signature".into(),
        "contract_types" => "Diagnostic : types de contrat".into(),
        "consent_structures" => "Diagnostic : structures autorisées".into(),
        _ => format!("Diagnostic : {register}"),
    }
}

/// What a follow-up register is about (`tandem_sync::register_key`: `step/<id>/label`, …).
fn followup_register_label(register: &str) -> String {
    let mut parts = register.split('/');
    let head = parts.next().unwrap_or_default();
    let what = parts.nth(1).unwrap_or_default();
    let element = match head {
        "objective" => "objectif",
        "step" => "étape",
        "interview" => "entretien",
        "contract" => "contrat d’engagement",
        "status_event" => "changement de situation",
        "orientation" => "orientation",
        "review_decision" => "décision du groupe de suivi",
        "review_agenda" => "ordre du jour du groupe de suivi",
        _ => "élément",
    };
    let detail = match what {
        "" => "",
        "status" => " (statut)",
        "label" => " (intitulé)",
        "provider" => " (prestataire)",
        "outcome" => " (résultat)",
        "planned" => " (dates prévues)",
        "actual" => " (dates réelles)",
        "attended" => " (présence)",
        "end" => " (date de fin)",
        "objectives" => " (objectifs)",
        _ => "",
    };
    format!("Suivi : {element}{detail}")
}

/// A value as the caseworker reads it.
/// A changed value as the caseworker reads it: a follow-up edit in words (« réalisée », « du
/// 02/03/2026 au 30/04/2026 »), anything else through [`display_value`].
fn change_value_label(entity: &str, value: &serde_json::Value) -> String {
    if entity == tandem_sync::ENTITY_FOLLOWUP {
        if let Ok(edit) = tandem_domain::followup::FollowUpEdit::deserialize(value) {
            return tandem_domain::followup::edit_summary(&edit);
        }
    }
    display_value(value)
}

fn display_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "Oui".into(),
        Value::Bool(false) => "Non".into(),
        Value::String(s) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(date) => date.format("%d/%m/%Y").to_string(),
            Err(_) => s.clone(),
        },
        Value::Number(n) => n.to_string(),
        // A diagnostic edit: its value (or text) when it has one, else the edit in short.
        Value::Object(map) => map
            .get("value")
            .or_else(|| map.get("text"))
            .map(display_value)
            .unwrap_or_else(|| value.to_string()),
        Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn person_name(s: &Session, person_id: Uuid) -> Result<String, AppError> {
    match s.case_file.person(person_id) {
        Ok(p) => Ok(format!("{} {}", p.first_name, p.last_name)),
        Err(StoreError::NotFound) => Ok("Personne inconnue".into()),
        Err(e) => Err(e.into()),
    }
}

/// Which record a change or conflict is about, and which of its fields, in French.
fn record_and_field(
    s: &Session,
    entity: &str,
    record_id: Uuid,
    field: &str,
    register: &str,
) -> (String, String) {
    if entity == tandem_sync::ENTITY_PERSON {
        (
            "Fiche de la personne".to_string(),
            person_field_label(field),
        )
    } else if entity == tandem_sync::ENTITY_FOLLOWUP {
        (
            "Suivi du parcours".to_string(),
            followup_register_label(register),
        )
    } else {
        let record = match s.case_file.diagnostic(record_id) {
            Ok(d) => match d.date {
                Some(date) => format!("Diagnostic du {}", display_value(&date.into())),
                None => format!("Diagnostic (version {})", d.version),
            },
            Err(_) => "Diagnostic".into(),
        };
        (record, diagnostic_register_label(register))
    }
}

/// Why the server refused a change, and what the caseworker can do, in French.
fn refusal_reason(reason: &str) -> String {
    match reason {
        "forbidden" => {
            "Votre structure n’a pas (ou plus) accès à ce dossier sur le serveur du \
             territoire : la personne n’a pas donné son accord au partage avec elle."
        }
        "finalised" => {
            "Ce diagnostic a été finalisé sur un autre ordinateur : il ne change plus. \
             Pour le corriger, créez-en une nouvelle version."
        }
        "social_only" => {
            "Cette note est réservée aux professionnel·les du social, et la personne \
             n’a pas accepté qu’elle soit partagée avec votre structure."
        }
        "clock_ahead" => {
            "L’horloge de cet ordinateur est en avance : réglez la date et l’heure, \
             la modification sera renvoyée."
        }
        _ => {
            "Le serveur du territoire n’a pas pu enregistrer cette modification. Si cela se \
             reproduit, signalez-le au service informatique du territoire."
        }
    }
    .to_string()
}

/// Who entered a conflicting value, after « Saisie par »: this laptop, the structure and
/// caseworker the server named for the other device, or (not named yet: before the next sync)
/// the end of its id.
fn author_label(
    device: Uuid,
    own_device: Option<Uuid>,
    authors: &HashMap<Uuid, (String, String)>,
) -> String {
    if Some(device) == own_device {
        return "cet ordinateur".into();
    }
    match authors.get(&device) {
        Some((name, structure)) => format!("{structure} · {name}"),
        None => {
            let id = device.simple().to_string();
            format!("Autre ordinateur ({})", &id[id.len() - 6..])
        }
    }
}

fn conflict_view(
    s: &Session,
    own_device: Option<Uuid>,
    authors: &HashMap<Uuid, (String, String)>,
    c: OpenConflict,
) -> Result<ConflictView, AppError> {
    let person_name = person_name(s, c.person_id)?;
    let (record, field_label) = record_and_field(s, &c.entity, c.record_id, &c.field, &c.register);
    let options = c
        .values
        .iter()
        .map(|v| ConflictOption {
            mutation_id: v.mutation_id,
            value: change_value_label(&c.entity, &v.value),
            author: author_label(v.device_id, own_device, authors),
            at: Utc
                .timestamp_millis_opt(i64::try_from(v.hlc.wall_ms).unwrap_or(i64::MAX))
                .single()
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            shown: v.winner,
        })
        .collect();
    Ok(ConflictView {
        id: format!("{}/{}", c.record_id, c.register),
        person_id: c.person_id,
        person_name,
        record,
        field_label,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_need_tls_except_on_this_computer() {
        assert_eq!(
            normalise_server_url(" https://tandem.territoire.fr/ ").unwrap(),
            "https://tandem.territoire.fr"
        );
        assert_eq!(
            normalise_server_url("http://127.0.0.1:7878").unwrap(),
            "http://127.0.0.1:7878"
        );
        assert!(normalise_server_url("http://localhost:7878").is_ok());
        for bad in [
            "",
            "tandem.fr",
            "http://tandem.territoire.fr",
            "ftp://x",
            "https://",
        ] {
            let err = normalise_server_url(bad).unwrap_err();
            assert_eq!(err.code(), crate::error::ErrorCode::Validation, "{bad}");
        }
    }

    #[test]
    fn codes_are_normalised_or_refused() {
        assert_eq!(
            normalise_code("abcd efgh-jklm npqr").unwrap(),
            "ABCD-EFGH-JKLM-NPQR"
        );
        assert!(normalise_code("ABCD-EFGH").is_err());
        assert!(normalise_code("ABCD-EFGH-JKLM-NPQ!").is_err());
    }

    #[test]
    fn values_read_in_french() {
        use serde_json::json;
        assert_eq!(display_value(&json!("2026-03-12")), "12/03/2026");
        assert_eq!(display_value(&json!(true)), "Oui");
        assert_eq!(display_value(&json!(null)), "");
        assert_eq!(
            display_value(&json!({"kind": "set_field", "value": "Lyon"})),
            "Lyon"
        );
    }

    #[test]
    fn follow_up_values_read_as_words_not_json() {
        use serde_json::json;
        let id = Uuid::now_v7();
        let read = |value: serde_json::Value| change_value_label("followup", &value);
        assert_eq!(
            read(json!({"kind": "set_step_status", "id": id, "status": "done"})),
            "réalisée"
        );
        let planned = read(json!({"kind": "set_step_planned_dates", "id": id,
            "start": "2026-03-02", "end": "2026-04-30"}));
        assert!(
            planned.starts_with("du ") && !planned.contains('{'),
            "{planned}"
        );
        assert_eq!(
            read(json!({"kind": "set_interview_attended", "id": id, "attended": false})),
            "absence"
        );
        let agenda = read(json!({"kind": "set_review_agenda", "meeting_id": id,
            "date": "2026-12-03", "structures_present": [], "reason": "Étape en retard",
            "on_agenda": true}));
        assert!(agenda.ends_with(" : Étape en retard"), "{agenda}");
        assert!(!agenda.contains(&id.to_string()), "{agenda}");
        // An edit this build does not know: still shown, through the generic reading.
        assert_eq!(read(json!({"kind": "later", "value": "x"})), "x");
    }
}
