//! The one error type that crosses IPC: a stable `code` the UI matches on and a French `message`
//! it shows. Library errors are mapped here, in one place.

use serde::Serialize;
use tandem_domain::diagnostic_rules::DiagnosticError;
use tandem_domain::followup::{FollowUpError, MeetingError};
use tandem_keys::KeyError;

use crate::printing::PrintJobError;
use tandem_store::StoreError;
use ts_rs::TS;

/// Stable error codes, shared with the UI through the generated bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Validation,
    NotFound,
    Locked,
    NoProfile,
    ProfileExists,
    WrongPassphrase,
    KeychainUnavailable,
    WrappedKeyDamaged,
    CannotDecrypt,
    Damaged,
    NewerSchema,
    /// The diagnostic is finalised: it can only be amended into a new version.
    Finalised,
    /// Finalising was refused: the message lists what is missing.
    NotReady,
    /// A new version of this diagnostic is already being written.
    DraftExists,
    /// The system could not print (no printing system, no printer, job refused): save instead.
    PrintFailed,
    /// Sync was asked for, but this laptop is not enrolled with a territory server.
    NotEnrolled,
    /// The territory server cannot be reached.
    Offline,
    /// The enrolment code is unknown, already used or expired.
    InvalidCode,
    /// The territory server revoked this laptop; its case file was erased.
    DeviceRevoked,
    /// The territory server needs a newer Tandem.
    UpgradeRequired,
    /// Sync failed for another reason; the message says which.
    SyncFailed,
    /// The territory server does not hold this person's file for this structure yet (or no
    /// longer): a sync first may help, so the UI offers one.
    NotOnServer,
    Internal,
}

/// What a failed command returns to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    /// The field a validation error belongs to (its wire name), so the UI can show it in place.
    pub field: Option<String>,
}

/// Errors of the app's use-cases.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the case file is locked")]
    Locked,
    #[error("no profile exists yet")]
    NoProfile,
    #[error("a profile already exists")]
    ProfileExists,
    #[error(transparent)]
    Validation(#[from] tandem_domain::ValidationError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("keys: {0}")]
    Key(#[from] KeyError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("diagnostic: {0}")]
    Diagnostic(#[from] DiagnosticError),
    #[error("print: {0}")]
    Print(#[from] tandem_print::PrintError),
    #[error("printing: {0}")]
    PrintJob(#[from] PrintJobError),
    #[error("sync: {0:?}")]
    Sync(#[from] tandem_sync_client::SyncError),
    #[error("the server address is not valid")]
    InvalidServerUrl,
    #[error("the enrolment code is not 16 letters and digits")]
    InvalidCodeFormat,
    #[error("this laptop is already enrolled")]
    AlreadyEnrolled,
    #[error("the server does not hold this person's file for this structure")]
    NotOnServerYet,
}

fn diagnostic_code(e: &DiagnosticError) -> ErrorCode {
    match e {
        DiagnosticError::Finalised => ErrorCode::Finalised,
        DiagnosticError::NotReady(_) => ErrorCode::NotReady,
        DiagnosticError::Validation(_) => ErrorCode::Validation,
        DiagnosticError::Unknown(_) => ErrorCode::NotFound,
        DiagnosticError::NotFinalised => ErrorCode::Internal,
    }
}

fn follow_up_code(e: &FollowUpError) -> ErrorCode {
    match e {
        FollowUpError::Unknown(_) => ErrorCode::NotFound,
        FollowUpError::Validation(_)
        | FollowUpError::EndBeforeStart { .. }
        | FollowUpError::UnknownCafReason(_) => ErrorCode::Validation,
    }
}

fn meeting_code(e: &MeetingError) -> ErrorCode {
    match e {
        MeetingError::NotOnAgenda => ErrorCode::NotFound,
        MeetingError::AlreadyDecided | MeetingError::NoDecision => ErrorCode::Validation,
        MeetingError::Invalid(e) => follow_up_code(e),
    }
}

/// The follow-up error inside a store error, if any (a meeting's decision carries one too).
fn follow_up_error(e: &StoreError) -> Option<&FollowUpError> {
    match e {
        StoreError::FollowUp(e) | StoreError::Meeting(MeetingError::Invalid(e)) => Some(e),
        _ => None,
    }
}

fn follow_up_message(e: &FollowUpError) -> String {
    match e {
        FollowUpError::Validation(v) => v.message(),
        FollowUpError::Unknown(what) => {
            format!("Cet élément ({what}) n’est pas (ou plus) dans le suivi de la personne.")
        }
        FollowUpError::EndBeforeStart {
            field: "next_review",
        } => "La prochaine revue doit avoir lieu après la réunion.".into(),
        FollowUpError::EndBeforeStart {
            field: "objective_closed_on",
        } => "Un objectif ne peut pas être clos avant d’avoir été ouvert.".into(),
        FollowUpError::EndBeforeStart { .. } => {
            "La date de fin doit suivre la date de début.".into()
        }
        FollowUpError::UnknownCafReason(_) => {
            "Ce motif CAF n’existe pas pour ce statut du RSA : choisissez-le dans la liste.".into()
        }
    }
}

fn follow_up_field(e: &FollowUpError) -> Option<String> {
    match e {
        FollowUpError::Validation(v) => Some(v.field.to_string()),
        FollowUpError::EndBeforeStart { field } => Some((*field).to_string()),
        FollowUpError::UnknownCafReason(_) => Some("reason_code".into()),
        FollowUpError::Unknown(_) => None,
    }
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Locked => ErrorCode::Locked,
            AppError::NotOnServerYet => ErrorCode::NotOnServer,
            AppError::NoProfile => ErrorCode::NoProfile,
            AppError::ProfileExists => ErrorCode::ProfileExists,
            AppError::Validation(_) => ErrorCode::Validation,
            AppError::Store(e) => match e {
                StoreError::CannotDecrypt => ErrorCode::CannotDecrypt,
                StoreError::Damaged => ErrorCode::Damaged,
                StoreError::NewerSchema { .. } => ErrorCode::NewerSchema,
                StoreError::NotFound => ErrorCode::NotFound,
                StoreError::Validation(_) => ErrorCode::Validation,
                StoreError::AlreadyExists => ErrorCode::ProfileExists,
                StoreError::Finalised | StoreError::HasFinalisedDiagnostic => ErrorCode::Finalised,
                StoreError::DraftExists | StoreError::VersionExists => ErrorCode::DraftExists,
                StoreError::Diagnostic(e) => diagnostic_code(e),
                StoreError::FollowUp(e) => follow_up_code(e),
                StoreError::Meeting(e) => meeting_code(e),
                StoreError::Io(_) | StoreError::Sqlite(_) | StoreError::NotEnrolled => {
                    ErrorCode::Internal
                }
            },
            AppError::Diagnostic(e) => diagnostic_code(e),
            AppError::Print(_) => ErrorCode::Internal,
            AppError::PrintJob(PrintJobError::Io(_)) => ErrorCode::Internal,
            AppError::PrintJob(_) => ErrorCode::PrintFailed,
            AppError::Key(e) => match e {
                KeyError::KeychainUnavailable => ErrorCode::KeychainUnavailable,
                KeyError::NoKeychainEntry => ErrorCode::KeychainUnavailable,
                KeyError::WrongPassphrase => ErrorCode::WrongPassphrase,
                KeyError::WrappedKeyDamaged => ErrorCode::WrappedKeyDamaged,
                KeyError::Io(_) => ErrorCode::Internal,
            },
            AppError::Io(_) => ErrorCode::Internal,
            AppError::InvalidServerUrl
            | AppError::InvalidCodeFormat
            | AppError::AlreadyEnrolled => ErrorCode::Validation,
            AppError::Sync(e) => {
                use tandem_sync_client::SyncError as S;
                match e {
                    S::Offline => ErrorCode::Offline,
                    S::InvalidCode => ErrorCode::InvalidCode,
                    S::DeviceRevoked => ErrorCode::DeviceRevoked,
                    S::UpgradeRequired => ErrorCode::UpgradeRequired,
                    S::NotEnrolled => ErrorCode::NotEnrolled,
                    S::InvalidUrl => ErrorCode::Validation,
                    S::Locked => ErrorCode::Locked,
                    _ => ErrorCode::SyncFailed,
                }
            }
        }
    }

    /// The sentence the caseworker reads. Plain French, says what happened and what to do.
    pub fn message(&self) -> String {
        if let AppError::Store(store) = self {
            if let Some(e) = follow_up_error(store) {
                return follow_up_message(e);
            }
            match store {
                StoreError::Meeting(MeetingError::NotOnAgenda) => {
                    return "Cette personne n’est pas à l’ordre du jour de cette réunion.".into()
                }
                StoreError::Meeting(MeetingError::AlreadyDecided) => {
                    return "Une décision est déjà enregistrée : la réunion ne peut plus être \
                         déplacée, ni ce cas retiré de l’ordre du jour."
                        .into()
                }
                StoreError::Meeting(MeetingError::NoDecision) => {
                    return "Aucune décision n’est encore enregistrée pour cette personne.".into()
                }
                _ => {}
            }
        }
        match self {
            AppError::Validation(e) | AppError::Store(StoreError::Validation(e)) => e.message(),
            AppError::Diagnostic(DiagnosticError::Validation(e))
            | AppError::Store(StoreError::Diagnostic(DiagnosticError::Validation(e))) => e.message(),
            AppError::Store(StoreError::HasFinalisedDiagnostic) => {
                "Cette personne a un diagnostic finalisé : sa fiche est conservée et ne peut pas être \
                 supprimée."
                    .into()
            }
            AppError::PrintJob(PrintJobError::NoPrintingSystem) => {
                "Impossible d’imprimer : aucun système d’impression n’est installé sur cet ordinateur. \
                 Enregistrez le document en PDF pour l’imprimer ailleurs."
                    .into()
            }
            AppError::PrintJob(PrintJobError::Refused(_)) => {
                "L’impression n’a pas pu être lancée : vérifiez qu’une imprimante est branchée et choisie \
                 par défaut, ou enregistrez le document en PDF."
                    .into()
            }
            AppError::InvalidServerUrl | AppError::Sync(tandem_sync_client::SyncError::InvalidUrl) => {
                "Adresse du serveur non valide : elle commence par https:// (par exemple \
                 https://tandem.mon-territoire.fr)."
                    .into()
            }
            AppError::InvalidCodeFormat => "Le code d’enregistrement compte 16 lettres et chiffres, par exemple \
                 ABCD-EFGH-JKLM-NPQR."
                .into(),
            AppError::AlreadyEnrolled => {
                "Cet ordinateur est déjà relié à un serveur du territoire.".into()
            }
            AppError::Sync(tandem_sync_client::SyncError::DeviceRevoked) => {
                "L’administrateur du territoire a retiré cet ordinateur du serveur : par sécurité, le \
                 dossier local a été effacé de cet ordinateur. Les dossiers restent disponibles sur le \
                 serveur. Pour continuer, contactez l’administrateur de Tandem de votre territoire, \
                 puis créez un nouveau profil."
                    .into()
            }
            AppError::NotOnServerYet => "Le serveur du territoire n’a pas encore ce dossier (ou votre structure n’y a \
                 plus accès) : synchronisez, puis partagez-le à nouveau."
                .into(),
            AppError::Sync(e) => e.to_string(),
            AppError::Diagnostic(DiagnosticError::NotReady(missing))
            | AppError::Store(StoreError::Diagnostic(DiagnosticError::NotReady(missing))) => {
                format!(
                    "Le diagnostic ne peut pas encore être finalisé. Il manque : {}.",
                    missing.join(" ; ")
                )
            }
            AppError::Store(StoreError::NewerSchema { .. }) => "Ce dossier a été enregistré par une version plus récente de Tandem. \
                 Mettez Tandem à jour pour l’ouvrir. Le dossier n’a pas été modifié."
                .into(),
            AppError::Io(_) | AppError::Store(StoreError::Io(_)) | AppError::Key(KeyError::Io(_)) => {
                "Le dossier n’a pas pu être lu ou écrit sur le disque. Vérifiez qu’il reste de la place, \
                 puis réessayez."
                    .into()
            }
            _ => match self.code() {
                ErrorCode::Locked => "Le dossier est verrouillé. Déverrouillez-le pour continuer.".into(),
                ErrorCode::NoProfile => "Aucun profil n’existe encore sur cet ordinateur.".into(),
                ErrorCode::ProfileExists => "Un profil existe déjà sur cet ordinateur.".into(),
                ErrorCode::WrongPassphrase => "La phrase de passe ne correspond pas.".into(),
                ErrorCode::KeychainUnavailable => "Le trousseau du système n’est pas disponible : Tandem ne peut pas \
                     ouvrir le dossier sans lui. Ouvrez votre session normalement, ou contactez votre \
                     service informatique."
                    .into(),
                ErrorCode::WrappedKeyDamaged => "La copie de secours de la clé est illisible. Le dossier n’a pas été \
                     modifié. Contactez votre service informatique."
                    .into(),
                ErrorCode::CannotDecrypt => "Le dossier ne peut pas être ouvert : il est endommagé ou ne correspond \
                     pas à cette clé. Il n’a pas été modifié. Contactez votre service informatique."
                    .into(),
                ErrorCode::Damaged => "Le dossier est endommagé. Il n’a pas été modifié. Contactez votre \
                     service informatique."
                    .into(),
                ErrorCode::NotFound => "Cette fiche n’est pas (ou plus) dans le dossier.".into(),
                ErrorCode::DraftExists => "Une nouvelle version de ce diagnostic est déjà en cours : \
                     reprenez-la depuis la fiche de la personne."
                    .into(),
                ErrorCode::Finalised => "Ce diagnostic est finalisé : il ne peut plus être modifié. Pour le \
                     corriger, créez une nouvelle version avec « Modifier (nouvelle version) »."
                    .into(),
                _ => "Une erreur inattendue est survenue. Réessayez ; si elle revient, contactez votre \
                     service informatique."
                    .into(),
            },
        }
    }

    fn field(&self) -> Option<String> {
        if let AppError::Store(store) = self {
            if let Some(e) = follow_up_error(store) {
                return follow_up_field(e);
            }
            if let StoreError::Meeting(MeetingError::AlreadyDecided | MeetingError::NoDecision) =
                store
            {
                return Some("decision".into());
            }
        }
        match self {
            AppError::Validation(e)
            | AppError::Store(StoreError::Validation(e))
            | AppError::Diagnostic(DiagnosticError::Validation(e))
            | AppError::Store(StoreError::Diagnostic(DiagnosticError::Validation(e))) => {
                Some(e.field.to_string())
            }
            AppError::InvalidServerUrl
            | AppError::Sync(tandem_sync_client::SyncError::InvalidUrl) => {
                Some("server_url".into())
            }
            AppError::InvalidCodeFormat => Some("code".into()),
            _ => None,
        }
    }
}

impl From<AppError> for IpcError {
    fn from(error: AppError) -> Self {
        let code = error.code();
        // Details of unexpected errors go to the log (never personal data: errors carry none),
        // the UI gets the plain message.
        if code == ErrorCode::Internal {
            log::error!("internal error: {error}");
        } else {
            log::info!("command refused: {code:?}");
        }
        IpcError {
            code,
            message: error.message(),
            field: error.field(),
        }
    }
}
