//! What the UI sees of a person's follow-up (issue 6): the file itself and what is derived from
//! it for display (timeline, referent history, return-to-work follow-ups), computed in Rust so
//! the rules live in one place (`tandem_domain::followup`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tandem_domain::followup::continuity::ReferentPeriod;
use tandem_domain::followup::model::FollowUp;
use tandem_domain::followup::review::WorkFollowUp;
use tandem_domain::followup::timeline::TimelineEntry;
use ts_rs::TS;
use uuid::Uuid;

/// A person's follow-up as one screen shows it. `timeline` is unfiltered: the UI filters it by
/// theme (`TimelineEntry::themes`), so changing the filter costs no IPC round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FollowUpView {
    pub person_id: Uuid,
    pub file: FollowUp,
    pub timeline: Vec<TimelineEntry>,
    pub referents: Vec<ReferentPeriod>,
    /// Follow-ups at 1, 3 and 6 months after a return to work, with their state.
    pub work_follow_ups: Vec<WorkFollowUp>,
    /// The person's 26th birthday, when the birth date is known.
    pub turning_26: Option<NaiveDate>,
    /// The laptop's date the view was computed on (what "overdue" and "due" mean).
    pub today: NaiveDate,
}

/// Which persons a status review covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewScope {
    /// Persons whose current referent (last `ReferentChanged` status event) is this laptop's
    /// caseworker, plus persons with no referent yet.
    Caseload,
    /// Every person in the case file (a coordinator's view of the structure).
    Structure,
}

/// The export formats of the status review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewExportFormat {
    Csv,
    Pdf,
}
