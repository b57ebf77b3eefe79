//! What travels between a laptop and the territory server, as JSON.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::merge::Versioned;
use crate::snapshot::Snapshot;

/// One field-level change, as the laptop journals it in its outbox.
///
/// For a person, `field` is the person field's wire name and `value` its new value. For a
/// diagnostic, `field` is the edit kind (`set_field`, `add_note`, …, or `create`) and `value` the
/// whole `DiagnosticEdit` (or `Diagnostic` for `create`) as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// UUIDv7 chosen by the laptop: the idempotency key of the change.
    pub mutation_id: Uuid,
    /// `person` or `diagnostic`.
    pub entity: String,
    pub record_id: Uuid,
    /// The person whose file this is: the unit of access control.
    pub person_id: Uuid,
    pub field: String,
    pub value: serde_json::Value,
    /// The highest server version of this register the laptop had pulled when it made the
    /// change; `None` if it had none.
    pub base_version: Option<u64>,
    pub hlc: Hlc,
    pub device_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// One result per change of the request, in the same order.
    pub results: Vec<MutationResult>,
    /// The server's wall clock, so a laptop can tell the user its clock is wrong.
    pub server_time_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResult {
    pub mutation_id: Uuid,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Journalled under this server version; the register has no open conflict.
    Applied { version: u64 },
    /// Already journalled (a replay): nothing changed.
    Duplicate { version: u64 },
    /// Journalled under this version, and the register now holds concurrent values: `winner`
    /// is the mutation whose value shows; the others are kept in the conflict record.
    Conflict { version: u64, winner: Uuid },
    /// Not journalled. The laptop keeps the change and shows the reason.
    Refused { reason: RefusalReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The device's structure is not in the person's follow-up group with consent.
    Forbidden,
    /// The change's clock is more than `MAX_DRIFT_MS` ahead of the server's.
    ClockAhead,
    /// `device_id` is not the authenticated device.
    WrongDevice,
    /// An unknown entity, or a record that belongs to another person.
    Invalid,
    /// The diagnostic was finalised: it never changes again (an amendment is a new diagnostic).
    Finalised,
    /// A note reserved to the social field, written by an employment device whose structure the
    /// person has not allowed to see social notes.
    SocialOnly,
}

/// Query of `GET /v1/pull`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub cursor: Option<Cursor>,
    pub limit: Option<u32>,
    /// Without a cursor: answer in snapshot form (current state per record) rather than the
    /// whole journal. Ignored with a journal cursor.
    #[serde(default)]
    pub snapshot: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Persons to delete locally, with everything attached to them, before applying `changes`.
    pub removals: Vec<Uuid>,
    /// Changes of the device's scope, in the server's commit order, with their versions.
    pub changes: Vec<Versioned>,
    /// A snapshot page (a first pull that asked for it): the current state of whole records,
    /// applied after `removals` and before `changes` (always empty in a snapshot page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// Where the next pull starts; store it in the same local transaction as the page.
    pub cursor: Cursor,
    pub has_more: bool,
    pub server_time_ms: u64,
}

/// Body of `POST /v1/follow-up`: puts a structure in a person's follow-up group, or changes
/// what the person consented to share with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRequest {
    pub person_id: Uuid,
    pub structure_id: Uuid,
    /// Whether the person consents to sharing their file with that structure.
    pub consent: bool,
    /// Whether notes reserved to the social field may go to its employment professionals.
    pub share_social_notes: bool,
}

/// One structure of the territory, as `GET /v1/structures` lists them (no personal data): what
/// a caseworker picks when the person agrees to share their file with another structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructureInfo {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
}

/// Who wrote a change: the device's caseworker (the device's own name for a device registered
/// without one) and structure, as `GET /v1/authors` gives them. Staff, not the persons followed:
/// the conflicts screen names the other author instead of a device id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorInfo {
    pub device_id: Uuid,
    pub name: String,
    pub structure: String,
}

/// Query of `GET /v1/authors`: device ids, comma-separated, at most [`MAX_AUTHORS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorsQuery {
    pub ids: String,
}

/// The most device ids one `GET /v1/authors` may ask about.
pub const MAX_AUTHORS: usize = 200;

/// Query of `GET /v1/follow-up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpQuery {
    pub person_id: Uuid,
}

/// One structure that sees a person's file with their consent (`GET /v1/follow-up`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpEntry {
    pub structure_id: Uuid,
    pub structure_name: String,
    pub share_social_notes: bool,
}

/// Body of `POST /v1/enrol` (no bearer token: the one-time code is the credential). An
/// administrator issues the code with `tandem-server admin enrolment add`; it names the
/// caseworker account, hence the structure and the role, and works once, before it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    /// What the administrator sees in `admin status` (e.g. the laptop's host name).
    pub device_name: String,
}

/// Answer to a successful enrolment. `token` is the device credential: the app keeps it in the
/// OS keychain and sends it as `Authorization: Bearer <token>`. The server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_id: Uuid,
    pub token: String,
    pub structure_id: Uuid,
    pub structure_name: String,
    pub caseworker_name: String,
    /// `social` or `employment`.
    pub role: String,
    pub server_time_ms: u64,
}

/// A position in a scope's change feed. Opaque to clients: they store it and send it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

impl Cursor {
    /// For the server: wraps its internal position.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Cursor(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// For the server: its internal position back, `None` if the text is not one of ours.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(&self.0).ok()
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// French, for the user.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 426: the client speaks an older protocol.
    UpgradeRequired,
    /// 401: no credential, or an unknown one.
    Unauthorized,
    /// 403: the device was revoked; the app wipes its local case file.
    DeviceRevoked,
    /// 403: the device's structure may not do this.
    Forbidden,
    /// 400: malformed request or cursor.
    BadRequest,
    /// 400: an enrolment code that is unknown, already used or expired.
    InvalidCode,
    /// 500: logged on the server with detail, answered without it.
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_have_a_flat_tagged_json_form() {
        let result = MutationResult {
            mutation_id: Uuid::nil(),
            outcome: Outcome::Refused {
                reason: RefusalReason::ClockAhead,
            },
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "mutation_id": Uuid::nil(),
                "outcome": "refused",
                "reason": "clock_ahead"
            })
        );
        assert_eq!(
            serde_json::from_value::<MutationResult>(json).unwrap(),
            result
        );
    }

    #[test]
    fn cursor_round_trips_bytes_and_rejects_garbage() {
        let cursor = Cursor::from_bytes(&[1, 2, 3, 250]);
        assert_eq!(cursor.to_bytes().unwrap(), vec![1, 2, 3, 250]);
        assert!(Cursor("not base64!".into()).to_bytes().is_none());
    }

    #[test]
    fn error_codes_are_snake_case() {
        let body = ErrorBody {
            code: ErrorCode::UpgradeRequired,
            message: "Mise à jour nécessaire".into(),
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["code"], "upgrade_required");
    }

    #[test]
    fn refusal_reasons_are_snake_case() {
        for (reason, text) in [
            (RefusalReason::Finalised, "finalised"),
            (RefusalReason::SocialOnly, "social_only"),
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), text);
        }
    }
}
