//! The status review ("point de situation"): for every person of a caseload or a structure, when
//! they were last met, where their pathway stands and what needs attention.
//!
//! Cost: one pass over each person's own records (steps sorted once per person), so the review
//! is linear in the number of records plus `O(s log s)` for a person's `s` steps; nothing scans
//! another person's data.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::continuity::{referent_on, status_changes_between, StatusChangeKind};
use super::dates::{add_months, days_between, french};
use super::model::{FollowUp, StatusChange, Step};
use crate::diagnostic::ActionStatus;
use crate::validation::{ValidationError, ValidationReason};

/// The follow-ups planned after a return to work, in months.
pub const WORK_FOLLOW_UP_MONTHS: [u32; 3] = [1, 3, 6];
/// An interview this many days before a work follow-up's due date counts for it.
pub const WORK_FOLLOW_UP_EARLY_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewSettings {
    /// Flag a person with no interview attended for this many weeks (default 8).
    pub no_interview_weeks: u32,
    /// Flag a change of situation this recent (in days, default 30) not followed by an interview.
    pub status_change_days: u32,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            no_interview_weeks: 8,
            status_change_days: 30,
        }
    }
}

impl ReviewSettings {
    pub const MAX_WEEKS: u32 = 104;
    pub const MAX_DAYS: u32 = 366;

    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=Self::MAX_WEEKS).contains(&self.no_interview_weeks) {
            return Err(ValidationError::new(
                "no_interview_weeks",
                ValidationReason::InvalidNumber,
            ));
        }
        if !(1..=Self::MAX_DAYS).contains(&self.status_change_days) {
            return Err(ValidationError::new(
                "status_change_days",
                ValidationReason::InvalidNumber,
            ));
        }
        Ok(())
    }
}

/// One person to review, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub struct ReviewSubject<'a> {
    /// As it should appear in the review, e.g. « Lefèvre Hélène ».
    pub name: &'a str,
    pub birth_date: Option<NaiveDate>,
    pub file: &'a FollowUp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StepRef {
    pub step_id: Uuid,
    pub label: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OverdueStep {
    pub step_id: Uuid,
    pub label: String,
    /// The planned end, or the planned start of a step not started yet.
    pub due: NaiveDate,
    pub days_overdue: i64,
}

/// The time between the end of one step and the start of the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StepDelay {
    pub from_step: Uuid,
    pub to_step: Uuid,
    pub from_end: NaiveDate,
    pub to_start: NaiveDate,
    pub days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WorkFollowUpState {
    /// Not due yet.
    Upcoming,
    /// Due and not held yet.
    Due,
    /// Held on that day.
    Done { on: NaiveDate },
    /// The next follow-up's time came without this one being held.
    Missed,
}

/// A follow-up interview planned automatically after a return to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkFollowUp {
    pub months: u32,
    pub due: NaiveDate,
    pub state: WorkFollowUpState,
}

/// Why a person needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewFlag {
    /// No interview attended for the configured number of weeks, or none at all (`last` empty).
    NoInterview {
        weeks: u32,
        last: Option<NaiveDate>,
    },
    StepOverdue {
        count: u32,
        oldest_due: NaiveDate,
    },
    /// The most recent change of situation in the window, with no interview attended since.
    StatusChangeWithoutInterview {
        date: NaiveDate,
        change: StatusChangeKind,
        label: String,
    },
    /// Back at work: the work follow-ups are not all held or missed yet.
    BackAtWork {
        since: NaiveDate,
    },
    WorkFollowUpDue {
        months: u32,
        due: NaiveDate,
    },
}

impl ReviewFlag {
    /// The flag in French, as the screen and the exports show it.
    pub fn label(&self) -> String {
        match self {
            ReviewFlag::NoInterview { last: None, .. } => "Aucun entretien".to_string(),
            ReviewFlag::NoInterview { weeks, .. } => {
                format!("Pas d’entretien depuis {weeks} semaines ou plus")
            }
            ReviewFlag::StepOverdue { count: 1, .. } => "1 étape en retard".to_string(),
            ReviewFlag::StepOverdue { count, .. } => format!("{count} étapes en retard"),
            ReviewFlag::StatusChangeWithoutInterview { date, label, .. } => format!(
                "Changement de situation sans entretien depuis : {label} ({})",
                french(*date)
            ),
            ReviewFlag::BackAtWork { since } => {
                format!("Retour à l’emploi le {}", french(*since))
            }
            ReviewFlag::WorkFollowUpDue { months, due } => format!(
                "Suivi dans l’emploi à {months} mois dû depuis le {}",
                french(*due)
            ),
        }
    }
}

/// One person in the status review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewRow {
    pub person_id: Uuid,
    pub name: String,
    /// The referent today, « Nom (Structure) ».
    pub referent: Option<String>,
    /// The last interview the person attended.
    pub last_interview: Option<NaiveDate>,
    pub days_since_last_interview: Option<i64>,
    /// The earliest step still to start (planned, not started), dated today or later.
    pub next_step: Option<StepRef>,
    /// Oldest first.
    pub overdue_steps: Vec<OverdueStep>,
    /// Every gap between a step's end and the start of the next one, in pathway order.
    pub delays: Vec<StepDelay>,
    pub longest_delay_days: Option<i64>,
    /// Days since the last step ended, when no step is under way or planned.
    pub days_without_step: Option<i64>,
    pub work_follow_ups: Vec<WorkFollowUp>,
    pub flags: Vec<ReviewFlag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusReview {
    pub generated_on: NaiveDate,
    pub settings: ReviewSettings,
    /// In the order the subjects were given.
    pub rows: Vec<ReviewRow>,
}

/// The status review of `subjects` on `today`.
pub fn status_review(
    subjects: &[ReviewSubject<'_>],
    settings: ReviewSettings,
    today: NaiveDate,
) -> Result<StatusReview, ValidationError> {
    settings.validate()?;
    Ok(StatusReview {
        generated_on: today,
        settings,
        rows: subjects
            .iter()
            .map(|s| review_row(s, settings, today))
            .collect(),
    })
}

/// The review of one person.
pub fn review_row(s: &ReviewSubject<'_>, settings: ReviewSettings, today: NaiveDate) -> ReviewRow {
    let file = s.file;
    let last_interview = file
        .interviews
        .iter()
        .filter(|i| i.attended && i.date <= today)
        .map(|i| i.date)
        .max();
    let days_since_last_interview = last_interview.map(|d| days_between(d, today));
    let mut flags = Vec::new();

    let threshold = i64::from(settings.no_interview_weeks) * 7;
    if days_since_last_interview.is_none_or(|d| d >= threshold) {
        flags.push(ReviewFlag::NoInterview {
            weeks: settings.no_interview_weeks,
            last: last_interview,
        });
    }

    let (next_step, overdue_steps) = next_and_overdue(&file.steps, today);
    if let Some(oldest) = overdue_steps.first() {
        flags.push(ReviewFlag::StepOverdue {
            count: u32::try_from(overdue_steps.len()).unwrap_or(u32::MAX),
            oldest_due: oldest.due,
        });
    }
    let (delays, days_without_step) = delays(&file.steps, today);
    let longest_delay_days = delays.iter().map(|d| d.days).max();

    let window = i64::from(settings.status_change_days);
    let window_start = today - chrono::Duration::days(window);
    let recent = status_changes_between(file, s.birth_date, window_start, today).pop();
    if let Some(change) = recent {
        if last_interview.is_none_or(|last| last < change.date) {
            flags.push(ReviewFlag::StatusChangeWithoutInterview {
                date: change.date,
                change: change.kind,
                label: change.label,
            });
        }
    }

    let work_follow_ups = work_follow_ups(file, today);
    if let Some(since) = return_to_work(file, today) {
        let open = work_follow_ups.iter().any(|f| {
            matches!(
                f.state,
                WorkFollowUpState::Upcoming | WorkFollowUpState::Due
            )
        });
        if open {
            flags.push(ReviewFlag::BackAtWork { since });
        }
        for f in &work_follow_ups {
            if f.state == WorkFollowUpState::Due {
                flags.push(ReviewFlag::WorkFollowUpDue {
                    months: f.months,
                    due: f.due,
                });
            }
        }
    }

    ReviewRow {
        person_id: file.person_id,
        name: s.name.to_string(),
        referent: referent_on(file, today).map(|p| format!("{} ({})", p.referent, p.structure)),
        last_interview,
        days_since_last_interview,
        next_step,
        overdue_steps,
        delays,
        longest_delay_days,
        days_without_step,
        work_follow_ups,
        flags,
    }
}

fn next_and_overdue(steps: &[Step], today: NaiveDate) -> (Option<StepRef>, Vec<OverdueStep>) {
    let mut next: Option<(&Step, NaiveDate)> = None;
    let mut overdue = Vec::new();
    for step in steps.iter().filter(|s| s.is_pending()) {
        let not_started = step.actual_start.is_none() && step.status == ActionStatus::Planned;
        let due = step.planned_end.or(if not_started {
            step.planned_start
        } else {
            None
        });
        if let Some(due) = due.filter(|d| *d < today) {
            overdue.push(OverdueStep {
                step_id: step.id,
                label: step.label.clone(),
                due,
                days_overdue: days_between(due, today),
            });
            continue;
        }
        if not_started {
            if let Some(date) = step.planned_start.or(step.planned_end) {
                if date >= today && next.is_none_or(|(n, d)| (date, step.id) < (d, n.id)) {
                    next = Some((step, date));
                }
            }
        }
    }
    overdue.sort_by_key(|o| (o.due, o.step_id));
    let next = next.map(|(step, date)| StepRef {
        step_id: step.id,
        label: step.label.clone(),
        date,
    });
    (next, overdue)
}

/// Gaps between steps, in start order. Steps may run in parallel: a step's gap is measured from
/// the latest end among the steps started before it, and an overlap is no gap. A step with a
/// start and no end is taken to end on its start. Cancelled steps are left out.
fn delays(steps: &[Step], today: NaiveDate) -> (Vec<StepDelay>, Option<i64>) {
    let mut dated: Vec<(NaiveDate, NaiveDate, Uuid)> = steps
        .iter()
        .filter(|s| !s.is_cancelled())
        .filter_map(|s| {
            let start = s.start()?;
            Some((start, s.end().unwrap_or(start).max(start), s.id))
        })
        .collect();
    dated.sort_unstable();
    let mut out = Vec::new();
    let mut covered: Option<(NaiveDate, Uuid)> = None;
    for (start, end, id) in dated {
        if let Some((until, from)) = covered {
            if start > until {
                out.push(StepDelay {
                    from_step: from,
                    to_step: id,
                    from_end: until,
                    to_start: start,
                    days: days_between(until, start),
                });
            }
        }
        if covered.is_none_or(|(until, _)| end > until) {
            covered = Some((end, id));
        }
    }
    let waiting = if steps.iter().any(Step::is_pending) {
        None
    } else {
        steps
            .iter()
            .filter(|s| !s.is_cancelled())
            .filter_map(Step::end)
            .filter(|d| *d < today)
            .max()
            .map(|last| days_between(last, today))
    };
    (out, waiting)
}

/// The latest return to work on or before `today`.
pub fn return_to_work(file: &FollowUp, today: NaiveDate) -> Option<NaiveDate> {
    file.status_events
        .iter()
        .filter(|e| matches!(e.change, StatusChange::ReturnToWork { .. }) && e.date <= today)
        .map(|e| e.date)
        .max()
}

/// The follow-ups at 1, 3 and 6 months after the latest return to work. An attended interview
/// counts for a follow-up from [`WORK_FOLLOW_UP_EARLY_DAYS`] before its due date until that many
/// days before the next one's.
pub fn work_follow_ups(file: &FollowUp, today: NaiveDate) -> Vec<WorkFollowUp> {
    let Some(since) = return_to_work(file, today) else {
        return Vec::new();
    };
    let dues: Vec<NaiveDate> = WORK_FOLLOW_UP_MONTHS
        .iter()
        .map(|m| add_months(since, *m))
        .collect();
    let early = chrono::Duration::days(WORK_FOLLOW_UP_EARLY_DAYS);
    WORK_FOLLOW_UP_MONTHS
        .iter()
        .zip(&dues)
        .enumerate()
        .map(|(i, (months, due))| {
            let opens = (*due - early).max(since + chrono::Duration::days(1));
            let closes = dues.get(i + 1).map(|next| *next - early);
            let held = file
                .interviews
                .iter()
                .filter(|iv| {
                    iv.attended
                        && iv.date <= today
                        && iv.date >= opens
                        && closes.is_none_or(|c| iv.date < c)
                })
                .map(|iv| iv.date)
                .min();
            let state = match held {
                Some(on) => WorkFollowUpState::Done { on },
                None if closes.is_some_and(|c| today >= c) => WorkFollowUpState::Missed,
                None if today >= *due => WorkFollowUpState::Due,
                None => WorkFollowUpState::Upcoming,
            };
            WorkFollowUp {
                months: *months,
                due: *due,
                state,
            }
        })
        .collect()
}

impl WorkFollowUp {
    pub fn label(&self) -> String {
        let when = match self.state {
            WorkFollowUpState::Upcoming => format!("prévu le {}", french(self.due)),
            WorkFollowUpState::Due => format!("dû depuis le {}", french(self.due)),
            WorkFollowUpState::Done { on } => format!("fait le {}", french(on)),
            WorkFollowUpState::Missed => format!("non fait (prévu le {})", french(self.due)),
        };
        format!("{} mois : {when}", self.months)
    }
}

impl ReviewRow {
    /// The reason to put this person on a review group's agenda, from the flags.
    pub fn agenda_reason(&self) -> String {
        self.flags
            .iter()
            .map(ReviewFlag::label)
            .collect::<Vec<_>>()
            .join(" ; ")
    }
}
