//! Shared follow-up after the diagnostic: the pathway (objectives carried from the plan, steps),
//! interviews, engagement contracts, changes of situation, orientation and review-group
//! decisions; the person's timeline; the status review ("point de situation") and its CSV export.
//!
//! Everything here is pure: the clock is a parameter, nothing reads the time or does I/O.
//!
//! - [`model`]: the follow-up file of one person;
//! - [`edit`]: the edits the UI makes (journalled and synced like `DiagnosticEdit`) and their rules;
//! - [`continuity`]: changes of situation (recorded and derived), referent history, open objectives;
//! - [`timeline`]: one timeline per person, filterable by theme;
//! - [`review`]: the status review and its flags; [`csv`]: its export;
//! - [`group`]: review-group meetings;
//! - [`caf`]: the CAF/MSA reason codes of RSA suspensions and closures; [`dates`]: calendar rules.

pub mod caf;
pub mod continuity;
pub mod csv;
pub mod dates;
pub mod edit;
pub mod group;
pub mod model;
pub mod review;
pub mod timeline;

pub use continuity::{
    open_objectives, referent_history, referent_on, status_changes, status_changes_between,
    turning_26, ReferentPeriod, StatusChangeKind, StatusChangeView,
};
pub use csv::status_review_csv;
pub use edit::{apply, plan_edits, FollowUpContext, FollowUpEdit, FollowUpError, StepTextField};
pub use group::{
    agenda_edit, apply_meeting_edit, decision_edit, new_meeting, MeetingEdit, MeetingError,
};
pub use model::*;
pub use review::{
    review_row, status_review, ReviewFlag, ReviewRow, ReviewSettings, ReviewSubject, StatusReview,
};
pub use timeline::{edit_summary, timeline, TimelineEntry, TimelineFilter, TimelineKind};
