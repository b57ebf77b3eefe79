//! The follow-up use-cases (issue 6, contract in the IPC notes): a person's follow-up file and its
//! edits, bringing a diagnostic's plan in, the status review and its exports, review meetings.
//! The rules are `tandem_domain::followup`'s; storage and journalling are the case file's.

use chrono::{DateTime, Local, NaiveDate, Utc};
use tandem_domain::followup::group::ReviewMeeting;
use tandem_domain::followup::{
    self, plan_edits, referent_history, status_review, status_review_csv, timeline, turning_26,
    FollowUp, FollowUpContext, FollowUpEdit, MeetingEdit, ReviewSettings, StatusReview,
    TimelineFilter,
};
use tandem_domain::validation::{ValidationError, ValidationReason};
use tandem_print::review::{render_status_review, StatusReviewPrintInput};
use tandem_store::{ReviewEntry, ReviewSelection, StoreError};
use uuid::Uuid;

use super::{AppCore, Session};
use crate::error::AppError;
use crate::followup_view::{FollowUpView, ReviewExportFormat, ReviewScope};

/// How far from today a review meeting may be planned or recorded: further is a typo.
const MEETING_HORIZON_DAYS: i64 = 366;

/// The caseworker's day: what "today", "overdue" and "not in the future" mean. The laptop's
/// local date, not UTC's (at 00:30 in Paris an interview held today is not in the future).
fn local_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Local).date_naive()
}

impl AppCore {
    fn today(&self) -> NaiveDate {
        local_day((self.clock)())
    }

    /// A person's follow-up as the screen shows it; an empty file for a person with none yet.
    pub fn get_follow_up(&self, person_id: Uuid) -> Result<FollowUpView, AppError> {
        let today = self.today();
        self.with_session(|s| {
            let file = s.case_file.follow_up(person_id)?;
            follow_up_view(s, file, today)
        })
    }

    /// One edit of a person's file, validated by the domain rules, written with its outbox
    /// entry in one transaction (it syncs like a diagnostic edit).
    pub fn edit_follow_up(
        &self,
        person_id: Uuid,
        edit: &FollowUpEdit,
    ) -> Result<FollowUpView, AppError> {
        let now = (self.clock)();
        let today = local_day(now);
        let view = self.with_session(|s| {
            let file =
                s.case_file
                    .edit_follow_up(person_id, edit, FollowUpContext { today }, now)?;
            follow_up_view(s, file, today)
        })?;
        self.nudge_sync();
        Ok(view)
    }

    /// Every objective and action of a diagnostic's plan not yet in the person's file becomes
    /// an objective or a step (same ids: doing it twice adds nothing), all in one transaction.
    pub fn plan_to_steps(
        &self,
        person_id: Uuid,
        diagnostic_id: Uuid,
    ) -> Result<FollowUpView, AppError> {
        let now = (self.clock)();
        let today = local_day(now);
        let view = self.with_session(|s| {
            let diagnostic = s.case_file.diagnostic(diagnostic_id)?;
            if diagnostic.person_id != person_id {
                return Err(StoreError::NotFound.into());
            }
            let current = s.case_file.follow_up(person_id)?;
            let edits = plan_edits(&diagnostic, &current, today);
            let file = s.case_file.edit_follow_up_all(
                person_id,
                &edits,
                FollowUpContext { today },
                now,
            )?;
            follow_up_view(s, file, today)
        })?;
        self.nudge_sync();
        Ok(view)
    }

    /// The status review of the caseload or of the whole structure, on today's date.
    pub fn status_review(
        &self,
        settings: ReviewSettings,
        scope: ReviewScope,
    ) -> Result<StatusReview, AppError> {
        settings.validate()?;
        let today = self.today();
        self.with_session(|s| {
            let entries = review_entries(s, scope)?;
            let subjects: Vec<_> = entries.iter().map(ReviewEntry::subject).collect();
            Ok(status_review(&subjects, settings, today)?)
        })
    }

    /// The status review as a file: CSV for spreadsheets (`;`, BOM) or PDF. Returns the
    /// suggested file name and the bytes; nothing is written anywhere.
    pub fn status_review_export(
        &self,
        settings: ReviewSettings,
        scope: ReviewScope,
        format: ReviewExportFormat,
    ) -> Result<(String, Vec<u8>), AppError> {
        let now = (self.clock)();
        let review = self.status_review(settings, scope)?;
        let name = format!(
            "point-de-situation-{}.{}",
            review.generated_on.format("%Y-%m-%d"),
            match format {
                ReviewExportFormat::Csv => "csv",
                ReviewExportFormat::Pdf => "pdf",
            }
        );
        let bytes = match format {
            ReviewExportFormat::Csv => status_review_csv(&review).into_bytes(),
            ReviewExportFormat::Pdf => {
                let (scope_label, author) = self.with_session(|s| {
                    let label = match scope {
                        ReviewScope::Caseload => {
                            format!("Portefeuille de {}", s.profile.caseworker_name)
                        }
                        ReviewScope::Structure => s.profile.structure_name.clone(),
                    };
                    Ok((label, s.profile.caseworker_name.clone()))
                })?;
                render_status_review(&StatusReviewPrintInput {
                    review: &review,
                    scope: &scope_label,
                    author: &author,
                    generated_at: now,
                })?
            }
        };
        Ok((name, bytes))
    }

    /// Writes an export where the caseworker chose to save it (complete or not at all).
    pub fn save_export(&self, path: &std::path::Path, bytes: &[u8]) -> Result<(), AppError> {
        let mut part = path.as_os_str().to_owned();
        part.push(".part");
        let part = std::path::PathBuf::from(part);
        std::fs::write(&part, bytes)?;
        std::fs::rename(&part, path)?;
        Ok(())
    }

    /// Review meetings, the newest first.
    pub fn list_meetings(&self) -> Result<Vec<ReviewMeeting>, AppError> {
        self.with_session(|s| Ok(s.case_file.meetings()?))
    }

    /// A new review meeting on `date` (within a year of today).
    pub fn create_meeting(&self, date: NaiveDate) -> Result<ReviewMeeting, AppError> {
        let today = self.today();
        if (date - today).num_days().abs() > MEETING_HORIZON_DAYS {
            return Err(ValidationError::new("meeting_date", ValidationReason::InvalidDate).into());
        }
        self.with_session(|s| Ok(s.case_file.create_meeting(Uuid::now_v7(), date)?))
    }

    /// One edit of a meeting. A decision is also recorded on the person's follow-up file (same
    /// transaction): it shows on their timeline and syncs.
    pub fn edit_meeting(
        &self,
        meeting_id: Uuid,
        edit: &MeetingEdit,
    ) -> Result<ReviewMeeting, AppError> {
        let now = (self.clock)();
        let today = local_day(now);
        let meeting = self.with_session(|s| {
            Ok(s.case_file
                .edit_meeting(meeting_id, edit, FollowUpContext { today }, now)?)
        })?;
        if matches!(edit, MeetingEdit::Decide { .. }) {
            self.nudge_sync();
        }
        Ok(meeting)
    }
}

fn review_entries(s: &Session, scope: ReviewScope) -> Result<Vec<ReviewEntry>, AppError> {
    let selection = match scope {
        ReviewScope::Caseload => ReviewSelection::Referent(&s.profile.caseworker_name),
        ReviewScope::Structure => ReviewSelection::Everyone,
    };
    Ok(s.case_file.review_entries(selection)?)
}

fn follow_up_view(s: &Session, file: FollowUp, today: NaiveDate) -> Result<FollowUpView, AppError> {
    let person = s.case_file.person(file.person_id)?;
    let diagnostics = s.case_file.diagnostics_of_person(file.person_id)?;
    Ok(FollowUpView {
        person_id: file.person_id,
        timeline: timeline(
            &file,
            &diagnostics,
            person.birth_date,
            today,
            &TimelineFilter::default(),
        ),
        referents: referent_history(&file),
        work_follow_ups: followup::review::work_follow_ups(&file, today),
        turning_26: person.birth_date.and_then(turning_26),
        today,
        file,
    })
}
