//! Tauri commands: thin adapters. Each takes its arguments and the core, runs one use-case off
//! the main thread (SQLCipher and Argon2id block), and maps the error to an [`IpcError`].

use std::sync::Arc;

use chrono::NaiveDate;
use tandem_domain::diagnostic::{
    Diagnostic, DiagnosticEdit, DiagnosticSummary, Referentiel, RomeMatch,
};
use tandem_domain::followup::group::ReviewMeeting;
use tandem_domain::followup::{FollowUpEdit, MeetingEdit, ReviewSettings, StatusReview};
use tandem_domain::{NewPerson, NewProfile, Person, PersonField, PersonList, Profile};
use tauri::State;
use uuid::Uuid;

use crate::core::{AppCore, AppState, Audience};
use crate::error::{AppError, IpcError};
use crate::followup_view::{FollowUpView, ReviewExportFormat, ReviewScope};
use crate::sync_view::{ConflictView, RefusedChangeView, ShareView, StructureView, SyncStatus};

type Core<'a> = State<'a, Arc<AppCore>>;

async fn blocking<T: Send + 'static>(
    core: &Core<'_>,
    job: impl FnOnce(&AppCore) -> Result<T, AppError> + Send + 'static,
) -> Result<T, IpcError> {
    let core = Arc::clone(core);
    match tauri::async_runtime::spawn_blocking(move || job(&core)).await {
        Ok(result) => result.map_err(IpcError::from),
        Err(join_error) => {
            log::error!("command task failed: {join_error}");
            Err(AppError::Io(std::io::Error::other("command task failed")).into())
        }
    }
}

#[tauri::command]
pub async fn app_state(core: Core<'_>) -> Result<AppState, IpcError> {
    blocking(&core, |c| c.state()).await
}

#[tauri::command]
pub async fn create_profile(core: Core<'_>, input: NewProfile) -> Result<Profile, IpcError> {
    blocking(&core, move |c| c.create_profile(&input)).await
}

#[tauri::command]
pub async fn unlock(core: Core<'_>, passphrase: String) -> Result<Profile, IpcError> {
    blocking(&core, move |c| c.unlock(&passphrase)).await
}

#[tauri::command]
pub async fn lock(core: Core<'_>) -> Result<(), IpcError> {
    blocking(&core, |c| {
        c.lock();
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn set_lock_after_minutes(core: Core<'_>, minutes: u32) -> Result<Profile, IpcError> {
    blocking(&core, move |c| c.set_lock_after_minutes(minutes)).await
}

#[tauri::command]
pub async fn search_persons(core: Core<'_>, query: String) -> Result<PersonList, IpcError> {
    blocking(&core, move |c| c.search_persons(&query)).await
}

#[tauri::command]
pub async fn create_person(core: Core<'_>, input: NewPerson) -> Result<Person, IpcError> {
    blocking(&core, move |c| c.create_person(&input)).await
}

#[tauri::command]
pub async fn get_person(core: Core<'_>, id: Uuid) -> Result<Person, IpcError> {
    blocking(&core, move |c| c.get_person(id)).await
}

#[tauri::command]
pub async fn delete_person(core: Core<'_>, id: Uuid) -> Result<(), IpcError> {
    blocking(&core, move |c| c.delete_person(id)).await
}

#[tauri::command]
pub async fn update_person_field(
    core: Core<'_>,
    id: Uuid,
    field: PersonField,
    value: String,
) -> Result<Person, IpcError> {
    blocking(&core, move |c| c.update_person_field(id, field, &value)).await
}

#[tauri::command]
pub async fn referentiel(core: Core<'_>) -> Result<Referentiel, IpcError> {
    blocking(&core, |c| Ok(c.referentiel().clone())).await
}

#[tauri::command]
pub async fn search_rome(core: Core<'_>, query: String) -> Result<Vec<RomeMatch>, IpcError> {
    blocking(&core, move |c| Ok(c.search_rome(&query))).await
}

#[tauri::command]
pub async fn list_diagnostics(
    core: Core<'_>,
    person_id: Uuid,
) -> Result<Vec<DiagnosticSummary>, IpcError> {
    blocking(&core, move |c| c.list_diagnostics(person_id)).await
}

#[tauri::command]
pub async fn start_diagnostic(core: Core<'_>, person_id: Uuid) -> Result<Diagnostic, IpcError> {
    blocking(&core, move |c| c.start_diagnostic(person_id)).await
}

#[tauri::command]
pub async fn get_diagnostic(core: Core<'_>, id: Uuid) -> Result<Diagnostic, IpcError> {
    blocking(&core, move |c| c.get_diagnostic(id)).await
}

#[tauri::command]
pub async fn edit_diagnostic(
    core: Core<'_>,
    id: Uuid,
    edit: DiagnosticEdit,
) -> Result<Diagnostic, IpcError> {
    blocking(&core, move |c| c.edit_diagnostic(id, &edit)).await
}

#[tauri::command]
pub async fn finalise_diagnostic(core: Core<'_>, id: Uuid) -> Result<Diagnostic, IpcError> {
    blocking(&core, move |c| c.finalise_diagnostic(id)).await
}

#[tauri::command]
pub async fn amend_diagnostic(core: Core<'_>, id: Uuid) -> Result<Diagnostic, IpcError> {
    blocking(&core, move |c| c.amend_diagnostic(id)).await
}

#[tauri::command]
pub async fn print_diagnostic(
    core: Core<'_>,
    id: Uuid,
    audience: Audience,
) -> Result<(), IpcError> {
    blocking(&core, move |c| c.print_diagnostic(id, audience)).await
}

/// The system's "save as" dialog, opened from Rust (the window has no dialog permission): the
/// chosen path and the file name to show, or `None` when the caseworker cancelled.
async fn ask_save_path(
    app: tauri::AppHandle,
    title: &'static str,
    name: String,
    filter: &'static str,
    extension: &'static str,
) -> Option<(std::path::PathBuf, String)> {
    use tauri_plugin_dialog::DialogExt;
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title(title)
            .set_file_name(name)
            .add_filter(filter, &[extension])
            .blocking_save_file()
    })
    .await
    .ok()
    .flatten();
    let path = chosen.and_then(|p| p.into_path().ok())?;
    let shown = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some((path, shown))
}

/// Asks where to save (the system's dialog, opened from Rust), then writes the PDF there.
/// Returns the chosen file name, or `None` when the caseworker cancelled.
#[tauri::command]
pub async fn save_diagnostic_pdf(
    app: tauri::AppHandle,
    core: Core<'_>,
    id: Uuid,
    audience: Audience,
) -> Result<Option<String>, IpcError> {
    let name = blocking(&core, move |c| c.suggested_pdf_name(id, audience)).await?;
    let Some((path, shown)) =
        ask_save_path(app, "Enregistrer le diagnostic en PDF", name, "PDF", "pdf").await
    else {
        return Ok(None);
    };
    blocking(&core, move |c| c.save_diagnostic_pdf(id, audience, &path)).await?;
    Ok(Some(shown))
}

#[tauri::command]
pub async fn sync_status(core: Core<'_>) -> Result<SyncStatus, IpcError> {
    blocking(&core, |c| c.sync_status()).await
}

/// Enrols this laptop with a territory server (a network call: runs on the async runtime).
#[tauri::command]
pub async fn enrol_device(
    core: Core<'_>,
    server_url: String,
    code: String,
) -> Result<SyncStatus, IpcError> {
    let core = Arc::clone(&core);
    core.enrol_device(&server_url, &code)
        .await
        .map_err(IpcError::from)
}

#[tauri::command]
pub async fn sync_now(core: Core<'_>) -> Result<SyncStatus, IpcError> {
    blocking(&core, |c| c.sync_now()).await
}

#[tauri::command]
pub async fn list_conflicts(core: Core<'_>) -> Result<Vec<ConflictView>, IpcError> {
    blocking(&core, |c| c.list_conflicts()).await
}

#[tauri::command]
pub async fn list_refused_changes(core: Core<'_>) -> Result<Vec<RefusedChangeView>, IpcError> {
    blocking(&core, |c| c.list_refused_changes()).await
}

#[tauri::command]
pub async fn resolve_conflict(
    core: Core<'_>,
    conflict_id: String,
    mutation_id: Uuid,
) -> Result<(), IpcError> {
    blocking(&core, move |c| {
        c.resolve_conflict(&conflict_id, mutation_id)
    })
    .await
}

/// The territory's structures (a network call).
#[tauri::command]
pub async fn list_structures(core: Core<'_>) -> Result<Vec<StructureView>, IpcError> {
    let core = Arc::clone(&core);
    core.list_structures().await.map_err(IpcError::from)
}

/// The person agrees to share their file with a structure (a network call).
#[tauri::command]
pub async fn share_person(
    core: Core<'_>,
    person_id: Uuid,
    structure_id: Uuid,
    share_social_notes: bool,
) -> Result<(), IpcError> {
    let core = Arc::clone(&core);
    core.share_person(person_id, structure_id, share_social_notes)
        .await
        .map_err(IpcError::from)
}

/// The other structures that see a person's file (a network call).
#[tauri::command]
pub async fn list_shares(core: Core<'_>, person_id: Uuid) -> Result<Vec<ShareView>, IpcError> {
    let core = Arc::clone(&core);
    core.list_shares(person_id).await.map_err(IpcError::from)
}

/// The person withdraws their consent for a structure (a network call).
#[tauri::command]
pub async fn withdraw_share(
    core: Core<'_>,
    person_id: Uuid,
    structure_id: Uuid,
) -> Result<(), IpcError> {
    let core = Arc::clone(&core);
    core.withdraw_share(person_id, structure_id)
        .await
        .map_err(IpcError::from)
}

#[tauri::command]
pub async fn get_follow_up(core: Core<'_>, person_id: Uuid) -> Result<FollowUpView, IpcError> {
    blocking(&core, move |c| c.get_follow_up(person_id)).await
}

#[tauri::command]
pub async fn edit_follow_up(
    core: Core<'_>,
    person_id: Uuid,
    edit: FollowUpEdit,
) -> Result<FollowUpView, IpcError> {
    blocking(&core, move |c| c.edit_follow_up(person_id, &edit)).await
}

#[tauri::command]
pub async fn plan_to_steps(
    core: Core<'_>,
    person_id: Uuid,
    diagnostic_id: Uuid,
) -> Result<FollowUpView, IpcError> {
    blocking(&core, move |c| c.plan_to_steps(person_id, diagnostic_id)).await
}

#[tauri::command]
pub async fn status_review(
    core: Core<'_>,
    settings: ReviewSettings,
    scope: ReviewScope,
) -> Result<StatusReview, IpcError> {
    blocking(&core, move |c| c.status_review(settings, scope)).await
}

/// Builds the export first (a refused setting never opens the dialog), asks where to save it
/// (the system's dialog, opened from Rust), then writes it there. Returns the chosen file
/// name, or `None` when the caseworker cancelled.
#[tauri::command]
pub async fn save_status_review(
    app: tauri::AppHandle,
    core: Core<'_>,
    settings: ReviewSettings,
    scope: ReviewScope,
    format: ReviewExportFormat,
) -> Result<Option<String>, IpcError> {
    let (name, bytes) = blocking(&core, move |c| {
        c.status_review_export(settings, scope, format)
    })
    .await?;
    let (filter, extension) = match format {
        ReviewExportFormat::Csv => ("CSV (tableur)", "csv"),
        ReviewExportFormat::Pdf => ("PDF", "pdf"),
    };
    let Some((path, shown)) = ask_save_path(
        app,
        "Enregistrer le point de situation",
        name,
        filter,
        extension,
    )
    .await
    else {
        return Ok(None);
    };
    blocking(&core, move |c| c.save_export(&path, &bytes)).await?;
    Ok(Some(shown))
}

#[tauri::command]
pub async fn list_meetings(core: Core<'_>) -> Result<Vec<ReviewMeeting>, IpcError> {
    blocking(&core, |c| c.list_meetings()).await
}

#[tauri::command]
pub async fn create_meeting(core: Core<'_>, date: NaiveDate) -> Result<ReviewMeeting, IpcError> {
    blocking(&core, move |c| c.create_meeting(date)).await
}

#[tauri::command]
pub async fn edit_meeting(
    core: Core<'_>,
    meeting_id: Uuid,
    edit: MeetingEdit,
) -> Result<ReviewMeeting, IpcError> {
    blocking(&core, move |c| c.edit_meeting(meeting_id, &edit)).await
}
