//! What can go wrong while syncing, with a French message for the user and a stable code.

use tandem_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No network, server down, connection reset, timeout: try again later.
    #[error("Serveur du territoire injoignable : la synchronisation reprendra dès que la connexion sera rétablie.")]
    Offline,
    /// The server's certificate is not trusted (and is not the territory's own root).
    #[error(
        "Le certificat du serveur du territoire n’est pas reconnu : la connexion a été refusée."
    )]
    UntrustedServer,
    /// The extra root certificate file could not be read or is not PEM.
    #[error("Le certificat du serveur du territoire est illisible.")]
    Certificate,
    #[error("L’adresse du serveur du territoire n’est pas valide.")]
    InvalidUrl,
    /// 426: this version of Tandem is too old for the server.
    #[error("Mise à jour nécessaire : installez la dernière version de Tandem pour synchroniser.")]
    UpgradeRequired,
    /// 403 `device_revoked`: the local case file has been wiped.
    #[error("Cet ordinateur a été révoqué par le serveur du territoire : ses données locales ont été effacées.")]
    DeviceRevoked,
    /// 401: unknown credential.
    #[error(
        "Cet ordinateur n’est pas reconnu par le serveur du territoire : enregistrez-le à nouveau."
    )]
    Unauthorized,
    /// The enrolment code is unknown, already used or expired.
    #[error("Ce code d’enregistrement n’est pas valide (inconnu, déjà utilisé ou expiré).")]
    InvalidCode,
    #[error("Votre structure n’a pas accès à ce dossier.")]
    Forbidden,
    /// 400 with the server's (French) explanation.
    #[error("Le serveur du territoire a refusé la demande. {0}")]
    Rejected(String),
    /// 5xx.
    #[error("Le serveur du territoire a rencontré une erreur (code {0}) : réessayez plus tard.")]
    Server(u16),
    /// An answer that does not follow the protocol.
    #[error("Réponse inattendue du serveur du territoire.")]
    Protocol,
    /// No server or credential recorded yet.
    #[error("Cet ordinateur n’est pas encore relié à un serveur du territoire.")]
    NotEnrolled,
    /// The app was locked while syncing: the case file is closed until the next unlock.
    #[error("Le dossier est verrouillé : la synchronisation reprendra au déverrouillage.")]
    Locked,
    /// The local case file failed.
    #[error("Erreur du dossier local pendant la synchronisation.")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// A stable, machine-readable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Offline => "offline",
            SyncError::UntrustedServer => "untrusted_server",
            SyncError::Certificate => "certificate",
            SyncError::InvalidUrl => "invalid_url",
            SyncError::UpgradeRequired => "upgrade_required",
            SyncError::DeviceRevoked => "device_revoked",
            SyncError::Unauthorized => "unauthorized",
            SyncError::InvalidCode => "invalid_code",
            SyncError::Forbidden => "forbidden",
            SyncError::Rejected(_) => "rejected",
            SyncError::Server(_) => "server",
            SyncError::Protocol => "protocol",
            SyncError::NotEnrolled => "not_enrolled",
            SyncError::Locked => "locked",
            SyncError::Store(_) => "store",
        }
    }

    /// Whether trying again later, unchanged, may succeed (the background worker's backoff).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::Offline | SyncError::Server(_) | SyncError::Protocol
        )
    }
}
