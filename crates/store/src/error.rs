//! One error type for the case file, with stable codes the shell forwards to the UI.

use rusqlite::ErrorCode;
use tandem_domain::diagnostic_rules::DiagnosticError;
use tandem_domain::followup::{FollowUpError, MeetingError};
use tandem_domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Wrong key, not a SQLCipher file, or a damaged header: SQLCipher cannot tell these apart.
    #[error("the case file cannot be decrypted with this key")]
    CannotDecrypt,
    #[error("the case file is damaged")]
    Damaged,
    #[error("the case file was written by a newer version (schema {found}, this version supports {supported})")]
    NewerSchema { found: u32, supported: u32 },
    #[error("a case file already exists at this path")]
    AlreadyExists,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// A finalised diagnostic never changes; amending it makes a new version.
    #[error("this diagnostic is finalised and cannot change")]
    Finalised,
    /// The series already has a draft: finish or continue it rather than starting another.
    #[error("this diagnostic series already has a draft")]
    DraftExists,
    /// The series already has this version number.
    #[error("this diagnostic version already exists")]
    VersionExists,
    /// The diagnostic rules refused the change; nothing was written.
    #[error("{0}")]
    Diagnostic(#[from] DiagnosticError),
    /// A person with a finalised diagnostic keeps their file: it cannot be deleted.
    #[error("this person has a finalised diagnostic; their file cannot be deleted")]
    HasFinalisedDiagnostic,
    /// The follow-up rules refused the edit; nothing was written.
    #[error("{0}")]
    FollowUp(#[from] FollowUpError),
    /// The review-group rules refused the meeting edit; nothing was written.
    #[error("{0}")]
    Meeting(#[from] MeetingError),
    /// Sync was asked for before the laptop was enrolled with a territory server.
    #[error("this case file is not enrolled with a territory server")]
    NotEnrolled,
    #[error("case file I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("case file database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl StoreError {
    /// A stable, machine-readable code: the UI matches on it, never on the message.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::CannotDecrypt => "cannot_decrypt",
            StoreError::Damaged => "damaged",
            StoreError::NewerSchema { .. } => "newer_schema",
            StoreError::AlreadyExists => "already_exists",
            StoreError::NotFound => "not_found",
            StoreError::Validation(_) => "validation",
            StoreError::Finalised => "finalised",
            StoreError::HasFinalisedDiagnostic => "has_finalised_diagnostic",
            StoreError::DraftExists => "draft_exists",
            StoreError::VersionExists => "version_exists",
            StoreError::Diagnostic(_) => "diagnostic_rejected",
            StoreError::FollowUp(e) | StoreError::Meeting(MeetingError::Invalid(e)) => match e {
                FollowUpError::Unknown(_) => "not_found",
                _ => "validation",
            },
            StoreError::Meeting(MeetingError::NotOnAgenda) => "not_found",
            StoreError::Meeting(_) => "validation",
            StoreError::NotEnrolled => "not_enrolled",
            StoreError::Io(_) => "io",
            StoreError::Sqlite(_) => "internal",
        }
    }
}

/// Corruption found after the key was accepted is damage, whatever SQLite calls it: a page
/// failing its HMAC surfaces as SQLITE_NOTADB, a broken b-tree as SQLITE_CORRUPT.
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Damaged,
            _ => StoreError::Sqlite(error),
        }
    }
}
