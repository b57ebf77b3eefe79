//! The caseworker profile: who uses this laptop's case file.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::validation::{self as v, ValidationError};

pub const DEFAULT_LOCK_AFTER_MINUTES: u32 = 10;

/// The caseworker's field in a joint interview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Social,
    Employment,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Social => "social",
            Role::Employment => "employment",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "social" => Some(Role::Social),
            "employment" => Some(Role::Employment),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Profile {
    pub id: Uuid,
    pub caseworker_name: String,
    pub structure_name: String,
    pub role: Role,
    /// Minutes of inactivity before the app locks itself.
    pub lock_after_minutes: u32,
}

/// What the first-run screen sends. The passphrase never comes back out of Rust.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewProfile {
    pub caseworker_name: String,
    pub structure_name: String,
    pub role: Role,
    pub passphrase: String,
}

impl std::fmt::Debug for NewProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewProfile")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// Validates the first-run form and builds the profile (the passphrase is checked, not kept).
    pub fn create(input: &NewProfile, id: Uuid) -> Result<Self, ValidationError> {
        let caseworker_name = v::text("caseworker_name", &input.caseworker_name, true)?;
        let structure_name = v::text("structure_name", &input.structure_name, true)?;
        v::passphrase("passphrase", &input.passphrase)?;
        Ok(Profile {
            id,
            caseworker_name,
            structure_name,
            role: input.role,
            lock_after_minutes: DEFAULT_LOCK_AFTER_MINUTES,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::ValidationReason;

    fn input(passphrase: &str) -> NewProfile {
        NewProfile {
            caseworker_name: "Camille Roux".into(),
            structure_name: "CCAS de Villeurbanne".into(),
            role: Role::Social,
            passphrase: passphrase.into(),
        }
    }

    #[test]
    fn create_checks_passphrase_length_and_defaults_lock() {
        let p = Profile::create(&input("une longue phrase"), Uuid::nil()).unwrap();
        assert_eq!(p.lock_after_minutes, DEFAULT_LOCK_AFTER_MINUTES);
        let e = Profile::create(&input("court"), Uuid::nil()).unwrap_err();
        assert_eq!(e.reason, ValidationReason::PassphraseTooShort);
    }

    #[test]
    fn debug_never_prints_the_passphrase() {
        let shown = format!("{:?}", input("secret-phrase-123"));
        assert!(!shown.contains("secret-phrase-123"));
    }
}
