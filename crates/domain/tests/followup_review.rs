//! The status review ("point de situation"): every flag and delay, table-driven with fixed
//! dates (leap years, month ends, a person with no interview, a person with no steps), and the
//! CSV export read back.

use chrono::NaiveDate;
use tandem_domain::diagnostic::ActionStatus;
use tandem_domain::followup::continuity::StatusChangeKind;
use tandem_domain::followup::csv::{self, HEADERS};
use tandem_domain::followup::dates::{add_months, birthday};
use tandem_domain::followup::review::{WorkFollowUp, WorkFollowUpState};
use tandem_domain::followup::{
    review_row, status_review, status_review_csv, turning_26, EngagementContract,
    EngagementContractKind, FollowUp, Interview, InterviewKind, ReviewFlag, ReviewRow,
    ReviewSettings, ReviewSubject, StatusChange, StatusEvent, Step,
};
use tandem_domain::validation::ValidationReason;
use tandem_domain::{NewPerson, Person, RsaStatus};
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// 1 March 2028: the day after a 29 February.
fn today() -> NaiveDate {
    d(2028, 3, 1)
}

fn interview(n: u128, date: NaiveDate, attended: bool) -> Interview {
    Interview {
        id: id(n),
        date,
        kind: InterviewKind::FollowUp,
        attended,
        by: "Camille Roux".into(),
        themes: Vec::new(),
    }
}

fn step(n: u128, status: ActionStatus, planned: (Option<NaiveDate>, Option<NaiveDate>)) -> Step {
    Step {
        id: id(n),
        objective_id: None,
        theme: None,
        label: format!("Étape {n}"),
        status,
        provider: String::new(),
        outcome: String::new(),
        planned_start: planned.0,
        planned_end: planned.1,
        actual_start: None,
        actual_end: None,
        created_on: d(2027, 1, 1),
    }
}

fn done(n: u128, start: NaiveDate, end: NaiveDate) -> Step {
    Step {
        actual_start: Some(start),
        actual_end: Some(end),
        ..step(n, ActionStatus::Done, (Some(start), Some(end)))
    }
}

fn event(n: u128, date: NaiveDate, change: StatusChange) -> StatusEvent {
    StatusEvent {
        id: id(n),
        date,
        change,
    }
}

fn back_to_work(n: u128, date: NaiveDate) -> StatusEvent {
    event(
        n,
        date,
        StatusChange::ReturnToWork {
            employer: "Boulangerie Martin".into(),
            contract_type: None,
        },
    )
}

fn file() -> FollowUp {
    FollowUp::new(id(1))
}

fn row_with(f: &FollowUp, birth: Option<NaiveDate>, settings: ReviewSettings) -> ReviewRow {
    review_row(
        &ReviewSubject {
            name: "Lefèvre Hélène",
            birth_date: birth,
            file: f,
        },
        settings,
        today(),
    )
}

fn row(f: &FollowUp) -> ReviewRow {
    row_with(f, None, ReviewSettings::default())
}

fn has_no_interview_flag(r: &ReviewRow) -> bool {
    r.flags
        .iter()
        .any(|f| matches!(f, ReviewFlag::NoInterview { .. }))
}

#[test]
fn calendar_rules_for_month_ends_and_leap_years() {
    for (from, months, expected) in [
        (d(2027, 1, 31), 1, d(2027, 2, 28)),
        (d(2028, 1, 31), 1, d(2028, 2, 29)),
        (d(2028, 1, 31), 3, d(2028, 4, 30)),
        (d(2028, 1, 31), 6, d(2028, 7, 31)),
        (d(2027, 8, 31), 6, d(2028, 2, 29)),
        (d(2028, 2, 29), 12, d(2029, 2, 28)),
        (d(2027, 11, 30), 3, d(2028, 2, 29)),
    ] {
        assert_eq!(add_months(from, months), expected, "{from} + {months}");
    }
    for (birth, expected) in [
        (d(2000, 2, 29), d(2026, 3, 1)),
        (d(2004, 2, 29), d(2030, 3, 1)),
        (d(2002, 2, 28), d(2028, 2, 28)),
        (d(2002, 3, 1), d(2028, 3, 1)),
        (d(1999, 12, 31), d(2025, 12, 31)),
        (d(2001, 7, 14), d(2027, 7, 14)),
    ] {
        assert_eq!(turning_26(birth), Some(expected), "{birth}");
        assert_eq!(birthday(birth, 26), Some(expected));
        // Agrees with the person's own age rule, the day before and the day itself.
        let person = Person::create(
            &NewPerson {
                first_name: "A".into(),
                last_name: "B".into(),
                birth_date: birth.to_string(),
            },
            Uuid::nil(),
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 26, 0, 0, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(person.is_under_26(expected.pred_opt().unwrap()), Some(true));
        assert_eq!(person.is_under_26(expected), Some(false));
    }
}

#[test]
fn last_interview_and_the_no_interview_flag() {
    let default = ReviewSettings::default();
    let four_weeks = ReviewSettings {
        no_interview_weeks: 4,
        ..default
    };
    // (interviews as (days before today, attended), settings, last interview, days since, flagged)
    type Case = (
        &'static str,
        Vec<(NaiveDate, bool)>,
        ReviewSettings,
        Option<NaiveDate>,
        bool,
    );
    let cases: Vec<Case> = vec![
        ("no interview at all", vec![], default, None, true),
        (
            "55 days: under 8 weeks",
            vec![(d(2028, 1, 6), true)],
            default,
            Some(d(2028, 1, 6)),
            false,
        ),
        (
            "56 days: 8 weeks",
            vec![(d(2028, 1, 5), true)],
            default,
            Some(d(2028, 1, 5)),
            true,
        ),
        (
            "a missed appointment is not a contact",
            vec![(d(2027, 12, 1), true), (d(2028, 2, 28), false)],
            default,
            Some(d(2027, 12, 1)),
            true,
        ),
        (
            "only missed appointments",
            vec![(d(2028, 2, 28), false)],
            default,
            None,
            true,
        ),
        (
            "the latest attended wins, whatever the order",
            vec![(d(2028, 2, 29), true), (d(2027, 6, 1), true)],
            default,
            Some(d(2028, 2, 29)),
            false,
        ),
        (
            "configurable: 4 weeks",
            vec![(d(2028, 2, 2), true)],
            four_weeks,
            Some(d(2028, 2, 2)),
            true,
        ),
        (
            "configurable: 27 days is under 4 weeks",
            vec![(d(2028, 2, 3), true)],
            four_weeks,
            Some(d(2028, 2, 3)),
            false,
        ),
    ];
    for (name, interviews, settings, last, flagged) in cases {
        let mut f = file();
        for (n, (date, attended)) in interviews.into_iter().enumerate() {
            f.interviews.push(interview(n as u128 + 10, date, attended));
        }
        let r = row_with(&f, None, settings);
        assert_eq!(r.last_interview, last, "{name}");
        assert_eq!(
            r.days_since_last_interview,
            last.map(|l| (today() - l).num_days()),
            "{name}"
        );
        assert_eq!(has_no_interview_flag(&r), flagged, "{name}");
        if flagged {
            let flag = r
                .flags
                .iter()
                .find(|f| matches!(f, ReviewFlag::NoInterview { .. }))
                .unwrap();
            assert_eq!(
                *flag,
                ReviewFlag::NoInterview {
                    weeks: settings.no_interview_weeks,
                    last
                }
            );
        }
    }
}

#[test]
fn days_since_count_29_february() {
    let mut f = file();
    f.interviews.push(interview(10, d(2028, 1, 1), true));
    assert_eq!(row(&f).days_since_last_interview, Some(60));
    let mut f = file();
    f.interviews.push(interview(10, d(2027, 1, 1), true));
    let r = review_row(
        &ReviewSubject {
            name: "x",
            birth_date: None,
            file: &f,
        },
        ReviewSettings::default(),
        d(2027, 3, 1),
    );
    assert_eq!(r.days_since_last_interview, Some(59));
}

#[test]
fn overdue_and_next_steps() {
    let t = today();
    let yesterday = d(2028, 2, 29);
    let later = d(2028, 3, 20);
    // (step, overdue days, is the next step)
    let cases: Vec<(&str, Step, Option<i64>, bool)> = vec![
        (
            "planned end on 29 February, not done",
            step(1, ActionStatus::Planned, (None, Some(yesterday))),
            Some(1),
            false,
        ),
        (
            "planned end today is not late",
            step(2, ActionStatus::InProgress, (None, Some(t))),
            None,
            false,
        ),
        (
            "not started although planned to start a month ago",
            step(3, ActionStatus::Planned, (Some(d(2028, 1, 31)), None)),
            Some(30),
            false,
        ),
        (
            "started, no planned end: not late",
            Step {
                actual_start: Some(d(2028, 1, 31)),
                ..step(4, ActionStatus::InProgress, (Some(d(2028, 1, 31)), None))
            },
            None,
            false,
        ),
        (
            "done is never late",
            done(5, d(2027, 12, 1), d(2028, 1, 15)),
            None,
            false,
        ),
        (
            "cancelled is never late",
            step(6, ActionStatus::Cancelled, (None, Some(d(2027, 1, 31)))),
            None,
            false,
        ),
        (
            "abandoned is never late",
            step(7, ActionStatus::Abandoned, (None, Some(d(2027, 1, 31)))),
            None,
            false,
        ),
        (
            "an actual end closes it even if the status was not updated",
            Step {
                actual_end: Some(d(2028, 2, 1)),
                ..step(8, ActionStatus::InProgress, (None, Some(d(2028, 1, 31))))
            },
            None,
            false,
        ),
        (
            "planned today: the next step",
            step(9, ActionStatus::Planned, (Some(t), Some(later))),
            None,
            true,
        ),
        (
            "planned later: next step",
            step(10, ActionStatus::Planned, (Some(later), None)),
            None,
            true,
        ),
        (
            "only a planned end in the future: next step on that day",
            step(11, ActionStatus::Planned, (None, Some(later))),
            None,
            true,
        ),
    ];
    for (name, s, overdue, next) in cases {
        let mut f = file();
        let sid = s.id;
        f.steps.push(s);
        let r = row(&f);
        assert_eq!(
            r.overdue_steps.first().map(|o| o.days_overdue),
            overdue,
            "{name}"
        );
        let flagged = r
            .flags
            .iter()
            .any(|f| matches!(f, ReviewFlag::StepOverdue { .. }));
        assert_eq!(flagged, overdue.is_some(), "{name}");
        assert_eq!(r.next_step.map(|n| n.step_id) == Some(sid), next, "{name}");
    }
}

#[test]
fn several_overdue_steps_oldest_first_and_the_earliest_next_step() {
    let mut f = file();
    f.steps
        .push(step(1, ActionStatus::Planned, (None, Some(d(2028, 2, 1)))));
    f.steps.push(step(
        2,
        ActionStatus::Planned,
        (None, Some(d(2027, 12, 31))),
    ));
    f.steps
        .push(step(3, ActionStatus::Planned, (Some(d(2028, 4, 1)), None)));
    f.steps
        .push(step(4, ActionStatus::Planned, (Some(d(2028, 3, 15)), None)));
    let r = row(&f);
    let overdue: Vec<Uuid> = r.overdue_steps.iter().map(|o| o.step_id).collect();
    assert_eq!(overdue, vec![id(2), id(1)]);
    assert!(r.flags.contains(&ReviewFlag::StepOverdue {
        count: 2,
        oldest_due: d(2027, 12, 31)
    }));
    let next = r.next_step.unwrap();
    assert_eq!((next.step_id, next.date), (id(4), d(2028, 3, 15)));
    assert_eq!(next.label, "Étape 4");
}

#[test]
fn delays_between_steps() {
    // (steps, expected delays as (from, to, days), longest, days without step)
    type Case = (&'static str, Vec<Step>, Vec<(u128, u128, i64)>, Option<i64>);
    let cases: Vec<Case> = vec![
        ("no steps at all", vec![], vec![], None),
        (
            "end of January to 29 February: 29 days in a leap year",
            vec![
                done(1, d(2028, 1, 10), d(2028, 1, 31)),
                step(2, ActionStatus::Planned, (Some(d(2028, 2, 29)), None)),
            ],
            vec![(1, 2, 29)],
            None,
        ),
        (
            "same in a common year: 28 February",
            vec![
                done(1, d(2027, 1, 10), d(2027, 1, 31)),
                done(2, d(2027, 2, 28), d(2027, 3, 10)),
            ],
            vec![(1, 2, 28)],
            Some(357),
        ),
        (
            "next step starts the day the previous ends: no delay",
            vec![
                done(1, d(2028, 1, 1), d(2028, 1, 15)),
                done(2, d(2028, 1, 15), d(2028, 2, 1)),
            ],
            vec![],
            Some(29),
        ),
        (
            "parallel steps: measured from the latest end",
            vec![
                done(1, d(2028, 1, 1), d(2028, 1, 31)),
                done(2, d(2028, 1, 15), d(2028, 2, 10)),
                step(3, ActionStatus::Planned, (Some(d(2028, 2, 20)), None)),
            ],
            vec![(2, 3, 10)],
            None,
        ),
        (
            "a step inside another leaves no gap",
            vec![
                done(1, d(2028, 1, 1), d(2028, 2, 15)),
                done(2, d(2028, 1, 10), d(2028, 1, 20)),
                done(3, d(2028, 2, 20), d(2028, 2, 25)),
            ],
            vec![(1, 3, 5)],
            Some(5),
        ),
        (
            "a cancelled step does not fill a gap",
            vec![
                done(1, d(2027, 10, 1), d(2027, 10, 31)),
                step(
                    2,
                    ActionStatus::Cancelled,
                    (Some(d(2027, 11, 1)), Some(d(2027, 12, 1))),
                ),
                done(3, d(2027, 12, 31), d(2028, 1, 31)),
            ],
            vec![(1, 3, 61)],
            Some(30),
        ),
        (
            "input order does not matter",
            vec![
                done(3, d(2028, 2, 1), d(2028, 2, 2)),
                done(1, d(2028, 1, 1), d(2028, 1, 2)),
            ],
            vec![(1, 3, 30)],
            Some(28),
        ),
    ];
    for (name, steps, expected, waiting) in cases {
        let mut f = file();
        f.steps = steps;
        let r = row(&f);
        let got: Vec<(Uuid, Uuid, i64)> = r
            .delays
            .iter()
            .map(|x| (x.from_step, x.to_step, x.days))
            .collect();
        let want: Vec<(Uuid, Uuid, i64)> = expected
            .iter()
            .map(|(a, b, n)| (id(*a), id(*b), *n))
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            r.longest_delay_days,
            expected.iter().map(|x| x.2).max(),
            "{name}"
        );
        assert_eq!(r.days_without_step, waiting, "{name}");
        for x in &r.delays {
            assert_eq!((x.to_start - x.from_end).num_days(), x.days, "{name}");
        }
    }
}

fn rsa(status: RsaStatus, code: Option<&str>) -> StatusChange {
    StatusChange::Rsa {
        status,
        reason_code: code.map(str::to_string),
    }
}

#[test]
fn status_change_without_an_interview() {
    // (events, contract end, birth date, last interview, expected flag (kind, date, label))
    type Case = (
        &'static str,
        Vec<StatusEvent>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<(StatusChangeKind, NaiveDate, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        (
            "RSA suspended after the last interview",
            vec![event(
                20,
                d(2028, 2, 15),
                rsa(RsaStatus::Suspended, Some("caf_hospitalisation")),
            )],
            None,
            None,
            Some(d(2028, 2, 10)),
            Some((
                StatusChangeKind::RsaSuspended,
                d(2028, 2, 15),
                "RSA suspendu : Hospitalisation",
            )),
        ),
        (
            "an interview the same day covers it",
            vec![event(20, d(2028, 2, 15), rsa(RsaStatus::Closed, None))],
            None,
            None,
            Some(d(2028, 2, 15)),
            None,
        ),
        (
            "30 days ago is in the window",
            vec![event(
                20,
                d(2028, 1, 31),
                rsa(RsaStatus::Closed, Some("caf_radie_fin_droit")),
            )],
            None,
            None,
            Some(d(2028, 1, 20)),
            Some((
                StatusChangeKind::RsaClosed,
                d(2028, 1, 31),
                "RSA clos : Radié fin de droit",
            )),
        ),
        (
            "31 days ago is out of the window",
            vec![event(20, d(2028, 1, 30), rsa(RsaStatus::Closed, None))],
            None,
            None,
            Some(d(2028, 1, 20)),
            None,
        ),
        (
            "turning 26 on 28 February 2028",
            vec![],
            None,
            Some(d(2002, 2, 28)),
            Some(d(2028, 2, 1)),
            Some((
                StatusChangeKind::Turned26,
                d(2028, 2, 28),
                "26 ans : fin des dispositifs jeunes",
            )),
        ),
        (
            "the end of a contract",
            vec![],
            Some(d(2028, 2, 20)),
            None,
            Some(d(2028, 2, 1)),
            Some((
                StatusChangeKind::ContractEnded,
                d(2028, 2, 20),
                "Fin : Contrat d’engagement jeune (CEJ)",
            )),
        ),
        (
            "a new referent, with no interview at all",
            vec![event(
                20,
                d(2028, 2, 28),
                StatusChange::ReferentChanged {
                    referent: "Inès Moreau".into(),
                    structure: "Mission locale".into(),
                },
            )],
            None,
            None,
            None,
            Some((
                StatusChangeKind::ReferentChanged,
                d(2028, 2, 28),
                "Référent·e : Inès Moreau (Mission locale)",
            )),
        ),
        (
            "the most recent change is the one shown",
            vec![
                event(21, d(2028, 2, 25), rsa(RsaStatus::Open, None)),
                event(20, d(2028, 2, 10), rsa(RsaStatus::Suspended, None)),
            ],
            None,
            None,
            Some(d(2028, 2, 1)),
            Some((StatusChangeKind::RsaOpened, d(2028, 2, 25), "RSA ouvert")),
        ),
        ("no change at all", vec![], None, None, None, None),
    ];
    for (name, events, contract_end, birth, last, expected) in cases {
        let mut f = file();
        f.status_events = events;
        if let Some(end) = contract_end {
            f.contracts.push(EngagementContract {
                id: id(30),
                kind: EngagementContractKind::Cej,
                start: d(2027, 2, 20),
                end: Some(end),
                objective_ids: Vec::new(),
            });
        }
        if let Some(date) = last {
            f.interviews.push(interview(40, date, true));
        }
        let r = row_with(&f, birth, ReviewSettings::default());
        let got = r.flags.iter().find_map(|f| match f {
            ReviewFlag::StatusChangeWithoutInterview {
                date,
                change,
                label,
            } => Some((*change, *date, label.clone())),
            _ => None,
        });
        assert_eq!(
            got,
            expected.map(|(k, dt, l)| (k, dt, l.to_string())),
            "{name}"
        );
    }
}

fn follow_up_states(r: &ReviewRow) -> Vec<(u32, NaiveDate, WorkFollowUpState)> {
    r.work_follow_ups
        .iter()
        .map(|WorkFollowUp { months, due, state }| (*months, *due, *state))
        .collect()
}

#[test]
fn back_at_work_follow_ups_at_1_3_and_6_months() {
    use WorkFollowUpState::{Done, Due, Missed, Upcoming};
    let back = d(2028, 1, 31);
    let dues = [d(2028, 2, 29), d(2028, 4, 30), d(2028, 7, 31)];
    // (interviews attended, today, states, back-at-work flag, due flags)
    type Case = (
        &'static str,
        Vec<NaiveDate>,
        NaiveDate,
        [WorkFollowUpState; 3],
        bool,
        Vec<u32>,
    );
    let cases: Vec<Case> = vec![
        (
            "31 January + 1 month = 29 February 2028, due the day after",
            vec![],
            d(2028, 3, 1),
            [Due, Upcoming, Upcoming],
            true,
            vec![1],
        ),
        (
            "the day before it is due",
            vec![],
            d(2028, 2, 28),
            [Upcoming, Upcoming, Upcoming],
            true,
            vec![],
        ),
        (
            "an interview 9 days early counts",
            vec![d(2028, 2, 20)],
            d(2028, 3, 1),
            [Done { on: d(2028, 2, 20) }, Upcoming, Upcoming],
            true,
            vec![],
        ),
        (
            "an interview 19 days early does not",
            vec![d(2028, 2, 10)],
            d(2028, 3, 1),
            [Due, Upcoming, Upcoming],
            true,
            vec![1],
        ),
        (
            "the 3-month window opened without the 1-month follow-up: missed",
            vec![],
            d(2028, 4, 20),
            [Missed, Upcoming, Upcoming],
            true,
            vec![],
        ),
        (
            "3 months due on 30 April",
            vec![d(2028, 3, 5)],
            d(2028, 5, 2),
            [Done { on: d(2028, 3, 5) }, Due, Upcoming],
            true,
            vec![3],
        ),
        (
            "all three held: no longer flagged",
            vec![d(2028, 3, 1), d(2028, 4, 25), d(2028, 8, 2)],
            d(2028, 8, 10),
            [
                Done { on: d(2028, 3, 1) },
                Done { on: d(2028, 4, 25) },
                Done { on: d(2028, 8, 2) },
            ],
            false,
            vec![],
        ),
        (
            "6 months stays due until held",
            vec![d(2028, 3, 1), d(2028, 4, 25)],
            d(2029, 1, 15),
            [Done { on: d(2028, 3, 1) }, Done { on: d(2028, 4, 25) }, Due],
            true,
            vec![6],
        ),
    ];
    for (name, interviews, on, states, back_flag, due_flags) in cases {
        let mut f = file();
        f.status_events.push(back_to_work(50, back));
        for (n, date) in interviews.into_iter().enumerate() {
            f.interviews.push(interview(60 + n as u128, date, true));
        }
        let r = review_row(
            &ReviewSubject {
                name: "x",
                birth_date: None,
                file: &f,
            },
            ReviewSettings::default(),
            on,
        );
        let want: Vec<(u32, NaiveDate, WorkFollowUpState)> = [1, 3, 6]
            .into_iter()
            .zip(dues)
            .zip(states)
            .map(|((m, due), s)| (m, due, s))
            .collect();
        assert_eq!(follow_up_states(&r), want, "{name}");
        assert_eq!(
            r.flags.contains(&ReviewFlag::BackAtWork { since: back }),
            back_flag,
            "{name}"
        );
        let due: Vec<u32> = r
            .flags
            .iter()
            .filter_map(|f| match f {
                ReviewFlag::WorkFollowUpDue { months, due } => {
                    assert_eq!(
                        *due,
                        dues[[1, 3, 6].iter().position(|m| m == months).unwrap()]
                    );
                    Some(*months)
                }
                _ => None,
            })
            .collect();
        assert_eq!(due, due_flags, "{name}");
    }
}

#[test]
fn back_at_work_from_31_january_in_a_common_year() {
    let mut f = file();
    f.status_events.push(back_to_work(50, d(2027, 1, 31)));
    let r = review_row(
        &ReviewSubject {
            name: "x",
            birth_date: None,
            file: &f,
        },
        ReviewSettings::default(),
        d(2027, 3, 1),
    );
    let dues: Vec<NaiveDate> = r.work_follow_ups.iter().map(|w| w.due).collect();
    assert_eq!(dues, vec![d(2027, 2, 28), d(2027, 4, 30), d(2027, 7, 31)]);
    assert_eq!(r.work_follow_ups[0].state, WorkFollowUpState::Due);
}

#[test]
fn a_person_with_nothing_yet() {
    let f = file();
    let r = row(&f);
    assert_eq!(r.last_interview, None);
    assert_eq!(r.next_step, None);
    assert!(r.overdue_steps.is_empty() && r.delays.is_empty());
    assert_eq!(r.days_without_step, None);
    assert!(r.work_follow_ups.is_empty());
    assert_eq!(
        r.flags,
        vec![ReviewFlag::NoInterview {
            weeks: 8,
            last: None
        }]
    );
    assert_eq!(r.agenda_reason(), "Aucun entretien");
}

#[test]
fn settings_are_checked() {
    let f = file();
    let subjects = [ReviewSubject {
        name: "x",
        birth_date: None,
        file: &f,
    }];
    for bad in [
        ReviewSettings {
            no_interview_weeks: 0,
            ..Default::default()
        },
        ReviewSettings {
            no_interview_weeks: 105,
            ..Default::default()
        },
        ReviewSettings {
            status_change_days: 0,
            ..Default::default()
        },
    ] {
        let err = status_review(&subjects, bad, today()).unwrap_err();
        assert_eq!(err.reason, ValidationReason::InvalidNumber);
    }
    let review = status_review(&subjects, ReviewSettings::default(), today()).unwrap();
    assert_eq!(review.rows.len(), 1);
    assert_eq!(review.generated_on, today());
}

/// A small RFC 4180 reader (any separator), for reading the export back.
fn parse_csv(text: &str, sep: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
        } else if c == '"' {
            assert!(field.is_empty(), "a quote inside an unquoted field");
            quoted = true;
        } else if c == sep {
            row.push(std::mem::take(&mut field));
        } else if c == '\r' {
            assert_eq!(chars.next(), Some('\n'), "CR without LF");
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        } else {
            assert_ne!(c, '\n', "bare LF outside quotes");
            field.push(c);
        }
    }
    assert!(!quoted, "unterminated quote");
    assert!(field.is_empty() && row.is_empty(), "last line without CRLF");
    rows
}

#[test]
fn csv_export_reads_back() {
    let mut a = file();
    a.interviews.push(interview(10, d(2028, 2, 29), true));
    a.steps
        .push(step(1, ActionStatus::Planned, (None, Some(d(2028, 1, 5)))));
    a.steps
        .push(step(2, ActionStatus::Planned, (Some(d(2028, 3, 9)), None)));
    a.steps[1].label = "Atelier « CV » ; suivi \"renforcé\"\nsur deux lignes".into();
    a.status_events.push(event(
        20,
        d(2028, 1, 31),
        StatusChange::ReferentChanged {
            referent: "Inès Moreau".into(),
            structure: "CCAS de Lyon".into(),
        },
    ));
    let mut b = FollowUp::new(id(2));
    b.status_events.push(back_to_work(50, d(2028, 1, 31)));
    b.steps.push(done(3, d(2027, 11, 2), d(2027, 12, 1)));
    b.steps.push(done(4, d(2027, 12, 11), d(2028, 1, 20)));
    let c = FollowUp::new(id(3));
    let subjects = [
        ReviewSubject {
            name: "Lefèvre Hélène",
            birth_date: None,
            file: &a,
        },
        ReviewSubject {
            name: "N’Diaye; Awa",
            birth_date: None,
            file: &b,
        },
        ReviewSubject {
            name: "Martin Paul",
            birth_date: None,
            file: &c,
        },
    ];
    let review = status_review(&subjects, ReviewSettings::default(), today()).unwrap();
    let text = status_review_csv(&review);
    let bytes = text.as_bytes();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let rows = parse_csv(text.strip_prefix(csv::BOM).unwrap(), ';');
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0], HEADERS.map(str::to_string).to_vec());
    assert!(rows.iter().all(|r| r.len() == HEADERS.len()));
    let col = |name: &str| HEADERS.iter().position(|h| *h == name).unwrap();

    let hel = &rows[1];
    assert_eq!(hel[col("Personne")], "Lefèvre Hélène");
    assert_eq!(hel[col("Référent·e")], "Inès Moreau (CCAS de Lyon)");
    assert_eq!(hel[col("Dernier entretien")], "29/02/2028");
    assert_eq!(hel[col("Jours depuis le dernier entretien")], "1");
    assert_eq!(
        hel[col("Prochaine étape")],
        "Atelier « CV » ; suivi \"renforcé\"\nsur deux lignes"
    );
    assert_eq!(hel[col("Date de la prochaine étape")], "09/03/2028");
    assert_eq!(hel[col("Étapes en retard")], "1");
    assert_eq!(hel[col("Plus ancienne échéance dépassée")], "05/01/2028");
    assert_eq!(hel[col("Alertes")], "1 étape en retard");

    let awa = &rows[2];
    assert_eq!(awa[col("Personne")], "N’Diaye; Awa");
    assert_eq!(awa[col("Dernier entretien")], "");
    assert_eq!(awa[col("Plus long délai entre deux étapes (jours)")], "10");
    assert_eq!(awa[col("Délais entre étapes (jours)")], "10");
    assert_eq!(awa[col("Sans étape depuis (jours)")], "41");
    assert_eq!(
        awa[col("Suivi dans l’emploi")],
        "1 mois : dû depuis le 29/02/2028 ; 3 mois : prévu le 30/04/2028 ; 6 mois : prévu le 31/07/2028"
    );
    assert_eq!(
        awa[col("Alertes")],
        "Aucun entretien ; Changement de situation sans entretien depuis : \
         Retour à l’emploi : Boulangerie Martin (31/01/2028) ; Retour à l’emploi le 31/01/2028 ; \
         Suivi dans l’emploi à 1 mois dû depuis le 29/02/2028"
    );

    let paul = &rows[3];
    assert_eq!(paul[col("Personne")], "Martin Paul");
    assert_eq!(paul[col("Étapes en retard")], "0");
    assert_eq!(paul[col("Alertes")], "Aucun entretien");
    // Fields holding the separator, quotes or line breaks are quoted; the others are not.
    assert!(text.contains("\"N’Diaye; Awa\""));
    assert!(text.contains(";Martin Paul;") || text.contains("\r\nMartin Paul;"));
    assert_eq!(csv::quote("a\"b"), "\"a\"\"b\"");
    assert_eq!(csv::quote("simple"), "simple");
}
