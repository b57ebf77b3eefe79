//! TypeScript bindings for every type that crosses IPC, written to `ui/src/bindings/`.
//! A test compares them with the committed files and fails when they are stale;
//! `UPDATE_BINDINGS=1 cargo test -p tandem bindings` rewrites them.

use std::path::{Path, PathBuf};

use ts_rs::{Config, ExportError, TS};

/// Exports every IPC type (and what they reference) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    let cfg = Config::new().with_out_dir(dir);
    crate::core::AppState::export_all(&cfg)?;
    crate::error::IpcError::export_all(&cfg)?;
    tandem_domain::Person::export_all(&cfg)?;
    tandem_domain::PersonList::export_all(&cfg)?;
    tandem_domain::NewPerson::export_all(&cfg)?;
    tandem_domain::PersonField::export_all(&cfg)?;
    tandem_domain::NewProfile::export_all(&cfg)?;
    tandem_domain::Profile::export_all(&cfg)?;
    tandem_domain::validation::ValidationReason::export_all(&cfg)?;
    use tandem_domain::diagnostic as d;
    d::Diagnostic::export_all(&cfg)?;
    d::DiagnosticSummary::export_all(&cfg)?;
    d::DiagnosticEdit::export_all(&cfg)?;
    d::Referentiel::export_all(&cfg)?;
    d::RomeMatch::export_all(&cfg)?;
    d::QualificationLevel::export_all(&cfg)?;
    d::Grade::export_all(&cfg)?;
    crate::core::Audience::export_all(&cfg)?;
    crate::sync_view::SyncStatus::export_all(&cfg)?;
    crate::sync_view::ConflictView::export_all(&cfg)?;
    crate::sync_view::StructureView::export_all(&cfg)?;
    crate::sync_view::ShareView::export_all(&cfg)?;
    crate::sync_view::RefusedChangeView::export_all(&cfg)?;
    crate::followup_view::FollowUpView::export_all(&cfg)?;
    crate::followup_view::ReviewScope::export_all(&cfg)?;
    crate::followup_view::ReviewExportFormat::export_all(&cfg)?;
    use tandem_domain::followup as f;
    f::edit::FollowUpEdit::export_all(&cfg)?;
    f::review::ReviewSettings::export_all(&cfg)?;
    f::review::StatusReview::export_all(&cfg)?;
    f::group::ReviewMeeting::export_all(&cfg)?;
    f::group::MeetingEdit::export_all(&cfg)?;
    Ok(())
}

pub fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        (name, std::fs::read_to_string(e.path()).unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn bindings_are_current() {
        let committed = committed_dir();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            if committed.exists() {
                std::fs::remove_dir_all(&committed).unwrap();
            }
            export_all(&committed).unwrap();
            return;
        }
        let fresh = tempfile::tempdir().unwrap();
        export_all(fresh.path()).unwrap();
        let expected = read_dir(fresh.path());
        let actual = read_dir(&committed);
        let stale: Vec<&String> = expected
            .keys()
            .chain(actual.keys())
            .filter(|name| expected.get(*name) != actual.get(*name))
            .collect();
        assert!(
            stale.is_empty(),
            "ui/src/bindings is stale ({stale:?}); run `UPDATE_BINDINGS=1 cargo test -p tandem bindings` and commit"
        );
    }
}
