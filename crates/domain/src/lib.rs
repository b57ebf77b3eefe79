//! Tandem's domain: the model and its rules. No I/O lives here: the store persists these types,
//! the shell carries them over IPC, and the UI receives them as generated TypeScript types.

pub mod diagnostic;
pub mod diagnostic_rules;
pub mod fold;
pub mod followup;
pub mod person;
pub mod profile;
pub mod referentiel;
pub mod rome;
pub mod validation;

pub use fold::fold;
pub use person::{NewPerson, Person, PersonField, PersonList, PersonSummary, RsaStatus};
pub use profile::{NewProfile, Profile, Role, DEFAULT_LOCK_AFTER_MINUTES};
pub use validation::{FieldValue, ValidationError};
