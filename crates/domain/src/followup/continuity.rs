//! Continuity across changes of situation: the status changes of a file (recorded, and derived
//! from the birth date and the contracts), who was referent when, and the objectives still open.
//! None of these ever removes anything from the file.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::caf;
use super::dates;
use super::model::{
    EngagementContract, FollowUp, FollowUpObjective, ObjectiveStatus, StatusChange, StatusEvent,
};
use crate::person::RsaStatus;

/// The age at which the youth schemes (CEJ, PACEA, missions locales) stop.
pub const YOUTH_AGE_LIMIT: u32 = 26;

/// What kind of status change, for the UI's icon and the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StatusChangeKind {
    RsaOpened,
    RsaSuspended,
    RsaClosed,
    Turned26,
    ContractStarted,
    ContractEnded,
    ReturnToWork,
    ReferentChanged,
}

/// One change of administrative situation, recorded or derived, with its French label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusChangeView {
    pub date: NaiveDate,
    pub kind: StatusChangeKind,
    /// E.g. « RSA suspendu : Hospitalisation », « 26 ans », « Fin : Contrat d’engagement jeune ».
    pub label: String,
    /// The recorded event or the contract it comes from; `None` for turning 26.
    pub source_id: Option<Uuid>,
}

/// The day the person turns 26 (see [`dates::birthday`] for 29 February).
pub fn turning_26(birth_date: NaiveDate) -> Option<NaiveDate> {
    dates::birthday(birth_date, YOUTH_AGE_LIMIT)
}

fn rsa_label(status: RsaStatus, reason: Option<&str>) -> String {
    let what = match status {
        RsaStatus::Open => "RSA ouvert",
        RsaStatus::Suspended => "RSA suspendu",
        RsaStatus::Closed => "RSA clos",
        RsaStatus::None => "RSA",
    };
    match reason.and_then(|code| caf::embedded().label(status, code)) {
        Some(label) => format!("{what} : {label}"),
        None => what.to_string(),
    }
}

/// Every change of situation up to `today` (included), in date order (stable: recorded events,
/// then contracts, then turning 26, within a day). `birth_date` gives turning 26.
pub fn status_changes(
    file: &FollowUp,
    birth_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<StatusChangeView> {
    status_changes_between(file, birth_date, NaiveDate::MIN, today)
}

/// Where a change of situation comes from; labels are only written for the changes kept.
enum Source<'a> {
    Event(&'a StatusEvent),
    ContractStart(&'a EngagementContract),
    ContractEnd(&'a EngagementContract),
    Turned26,
}

/// The changes of situation dated from `from` to `to` (both included), as [`status_changes`].
pub fn status_changes_between(
    file: &FollowUp,
    birth_date: Option<NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<StatusChangeView> {
    let within = |d: NaiveDate| from <= d && d <= to;
    let mut found: Vec<(NaiveDate, Source<'_>)> = Vec::new();
    found.extend(
        file.status_events
            .iter()
            .filter(|e| within(e.date))
            .map(|e| (e.date, Source::Event(e))),
    );
    for c in &file.contracts {
        if within(c.start) {
            found.push((c.start, Source::ContractStart(c)));
        }
        if let Some(end) = c.end.filter(|e| within(*e)) {
            found.push((end, Source::ContractEnd(c)));
        }
    }
    if let Some(day) = birth_date.and_then(turning_26).filter(|d| within(*d)) {
        found.push((day, Source::Turned26));
    }
    found.sort_by_key(|(date, _)| *date);
    found
        .into_iter()
        .map(|(date, source)| describe(date, source))
        .collect()
}

fn describe(date: NaiveDate, source: Source<'_>) -> StatusChangeView {
    let (kind, label, source_id) = match source {
        Source::Event(event) => {
            let (kind, label) = match &event.change {
                StatusChange::Rsa {
                    status,
                    reason_code,
                } => (
                    match status {
                        RsaStatus::Suspended => StatusChangeKind::RsaSuspended,
                        RsaStatus::Closed => StatusChangeKind::RsaClosed,
                        RsaStatus::Open | RsaStatus::None => StatusChangeKind::RsaOpened,
                    },
                    rsa_label(*status, reason_code.as_deref()),
                ),
                StatusChange::ReturnToWork { employer, .. } if employer.is_empty() => {
                    (StatusChangeKind::ReturnToWork, "Retour à l’emploi".into())
                }
                StatusChange::ReturnToWork { employer, .. } => (
                    StatusChangeKind::ReturnToWork,
                    format!("Retour à l’emploi : {employer}"),
                ),
                StatusChange::ReferentChanged {
                    referent,
                    structure,
                } => (
                    StatusChangeKind::ReferentChanged,
                    format!("Référent·e : {referent} ({structure})"),
                ),
            };
            (kind, label, Some(event.id))
        }
        Source::ContractStart(c) => (
            StatusChangeKind::ContractStarted,
            format!("Début : {}", c.kind.label()),
            Some(c.id),
        ),
        Source::ContractEnd(c) => (
            StatusChangeKind::ContractEnded,
            format!("Fin : {}", c.kind.label()),
            Some(c.id),
        ),
        Source::Turned26 => (
            StatusChangeKind::Turned26,
            "26 ans : fin des dispositifs jeunes".to_string(),
            None,
        ),
    };
    StatusChangeView {
        date,
        kind,
        label,
        source_id,
    }
}

/// One period of the referent history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferentPeriod {
    pub referent: String,
    pub structure: String,
    pub from: NaiveDate,
    /// The day the next referent took over; `None` for the current one.
    pub until: Option<NaiveDate>,
}

/// Who was referent when, oldest first. Of two changes on the same day, the one recorded last is
/// the referent from that day on; the other stays in the history with a zero-length period.
pub fn referent_history(file: &FollowUp) -> Vec<ReferentPeriod> {
    let mut changes: Vec<(NaiveDate, &str, &str)> = file
        .status_events
        .iter()
        .filter_map(|e| match &e.change {
            StatusChange::ReferentChanged {
                referent,
                structure,
            } => Some((e.date, referent.as_str(), structure.as_str())),
            _ => None,
        })
        .collect();
    changes.sort_by_key(|c| c.0);
    let mut out: Vec<ReferentPeriod> = changes
        .iter()
        .map(|(from, referent, structure)| ReferentPeriod {
            referent: (*referent).to_string(),
            structure: (*structure).to_string(),
            from: *from,
            until: None,
        })
        .collect();
    for i in 1..out.len() {
        let next = out[i].from;
        out[i - 1].until = Some(next);
    }
    out
}

/// The referent on `date`: the last change made on or before it (of two the same day, the one
/// recorded last), with the day the next one took over.
pub fn referent_on(file: &FollowUp, date: NaiveDate) -> Option<ReferentPeriod> {
    let mut current: Option<(NaiveDate, &str, &str)> = None;
    let mut next: Option<NaiveDate> = None;
    for e in &file.status_events {
        if let StatusChange::ReferentChanged {
            referent,
            structure,
        } = &e.change
        {
            if e.date <= date {
                if current.is_none_or(|(d, _, _)| e.date >= d) {
                    current = Some((e.date, referent, structure));
                }
            } else if next.is_none_or(|n| e.date < n) {
                next = Some(e.date);
            }
        }
    }
    current.map(|(from, referent, structure)| ReferentPeriod {
        referent: referent.to_string(),
        structure: structure.to_string(),
        from,
        until: next,
    })
}

/// The objectives still open, in the order they were set: what a new referent sees first.
pub fn open_objectives(file: &FollowUp) -> Vec<&FollowUpObjective> {
    file.objectives
        .iter()
        .filter(|o| o.status == ObjectiveStatus::Open)
        .collect()
}
