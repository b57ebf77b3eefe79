//! Benchmarks of the follow-up rules, on synthetic data built deterministically (a fixed-seed
//! generator, fixed dates):
//! - `review_5k_ms`: the status review of 5,000 persons with 100,000 steps and 50,000 interviews;
//! - `timeline_500_ms`: one person's timeline with 500 events.
//!
//! Run with `cargo run --release -p tandem-domain --example followup_bench`; each line is
//! `BENCH <name> <median milliseconds>`.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use tandem_domain::diagnostic::{ActionStatus, DiagnosticStatus, DiagnosticSummary, Orientation};
use tandem_domain::followup::{
    status_review, timeline, DecidedBy, EngagementContract, EngagementContractKind, FollowUp,
    FollowUpObjective, Interview, InterviewKind, ObjectiveStatus, OrientationRecord,
    ReviewSettings, ReviewSubject, StatusChange, StatusEvent, Step, TimelineFilter,
};
use tandem_domain::RsaStatus;
use uuid::Uuid;

const PERSONS: usize = 5_000;
const STEPS: usize = 100_000;
const INTERVIEWS: usize = 50_000;
const RUNS: usize = 15;

const THEMES: [&str; 6] = [
    "logement",
    "emploi",
    "mobilite",
    "sante",
    "formation",
    "numerique",
];

/// xorshift64*: small, fixed, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn id(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2028, 3, 1).unwrap()
}

fn day(rng: &mut Rng, span_days: u64) -> NaiveDate {
    today() - Duration::days(i64::try_from(rng.below(span_days)).unwrap_or(0))
}

fn step(rng: &mut Rng, objective: Option<Uuid>) -> Step {
    let start = day(rng, 720) + Duration::days(60);
    let end = start + Duration::days(7 + i64::try_from(rng.below(60)).unwrap_or(0));
    let status = match rng.below(5) {
        0 => ActionStatus::Planned,
        1 => ActionStatus::InProgress,
        2 | 3 => ActionStatus::Done,
        _ => ActionStatus::Cancelled,
    };
    let done = status == ActionStatus::Done;
    Step {
        id: rng.id(),
        objective_id: objective,
        theme: Some(THEMES[rng.below(6) as usize].to_string()),
        label: "Atelier de recherche d’emploi".to_string(),
        status,
        provider: "PLIE".to_string(),
        outcome: String::new(),
        planned_start: Some(start),
        planned_end: Some(end),
        actual_start: (status != ActionStatus::Planned && start <= today()).then_some(start),
        actual_end: (done && end <= today()).then_some(end),
        created_on: start - Duration::days(10),
    }
}

fn interview(rng: &mut Rng) -> Interview {
    Interview {
        id: rng.id(),
        date: day(rng, 400),
        kind: InterviewKind::FollowUp,
        attended: rng.below(6) != 0,
        by: "Camille Roux".to_string(),
        themes: vec![THEMES[rng.below(6) as usize].to_string()],
    }
}

fn status_event(rng: &mut Rng) -> StatusEvent {
    let change = match rng.below(4) {
        0 => StatusChange::Rsa {
            status: RsaStatus::Suspended,
            reason_code: Some("caf_hospitalisation".to_string()),
        },
        1 => StatusChange::ReturnToWork {
            employer: "Boulangerie Martin".to_string(),
            contract_type: None,
        },
        2 => StatusChange::ReferentChanged {
            referent: "Inès Moreau".to_string(),
            structure: "Département".to_string(),
        },
        _ => StatusChange::Rsa {
            status: RsaStatus::Open,
            reason_code: None,
        },
    };
    StatusEvent {
        id: rng.id(),
        date: day(rng, 365),
        change,
    }
}

fn objective(rng: &mut Rng) -> FollowUpObjective {
    FollowUpObjective {
        id: rng.id(),
        theme: THEMES[rng.below(6) as usize].to_string(),
        label: "Accéder à un logement".to_string(),
        status: ObjectiveStatus::Open,
        opened_on: day(rng, 720),
        closed_on: None,
    }
}

fn caseload(rng: &mut Rng) -> (Vec<FollowUp>, Vec<String>, Vec<Option<NaiveDate>>) {
    let mut files = Vec::with_capacity(PERSONS);
    let mut names = Vec::with_capacity(PERSONS);
    let mut births = Vec::with_capacity(PERSONS);
    for p in 0..PERSONS {
        let mut f = FollowUp::new(rng.id());
        f.objectives = (0..3).map(|_| objective(rng)).collect();
        let objective_ids: Vec<Uuid> = f.objectives.iter().map(|o| o.id).collect();
        f.steps = (0..STEPS / PERSONS)
            .map(|i| step(rng, Some(objective_ids[i % 3])))
            .collect();
        f.interviews = (0..INTERVIEWS / PERSONS).map(|_| interview(rng)).collect();
        f.status_events = (0..3).map(|_| status_event(rng)).collect();
        f.contracts.push(EngagementContract {
            id: rng.id(),
            kind: EngagementContractKind::Cer,
            start: day(rng, 700),
            end: None,
            objective_ids,
        });
        files.push(f);
        names.push(format!("Personne {p:05}"));
        births.push(NaiveDate::from_ymd_opt(
            1980 + (p % 30) as i32,
            1 + (p % 12) as u32,
            1,
        ));
    }
    (files, names, births)
}

fn person_with_500_events(rng: &mut Rng) -> (FollowUp, Vec<DiagnosticSummary>) {
    let mut f = FollowUp::new(rng.id());
    f.objectives = (0..20).map(|_| objective(rng)).collect();
    let ids: Vec<Uuid> = f.objectives.iter().map(|o| o.id).collect();
    f.steps = (0..200).map(|i| step(rng, Some(ids[i % 20]))).collect();
    f.interviews = (0..200).map(|_| interview(rng)).collect();
    f.status_events = (0..40).map(|_| status_event(rng)).collect();
    f.contracts = (0..5)
        .map(|_| EngagementContract {
            id: rng.id(),
            kind: EngagementContractKind::ContratEngagement,
            start: day(rng, 700),
            end: None,
            objective_ids: ids[..4].to_vec(),
        })
        .collect();
    f.orientations = (0..15)
        .map(|_| OrientationRecord {
            id: rng.id(),
            date: day(rng, 700),
            orientation: Orientation::SocioProfessional,
            reasons: "Logement d’abord".to_string(),
            decided_by: DecidedBy::Structure {
                structure: "CCAS".to_string(),
            },
        })
        .collect();
    let series = rng.id();
    let diagnostics = (0..20)
        .map(|v| DiagnosticSummary {
            id: rng.id(),
            series_id: series,
            version: v + 1,
            status: DiagnosticStatus::Finalised,
            date: Some(day(rng, 700).to_string()),
            caseworker_name: "Camille Roux".to_string(),
            co_interviewer_name: "Karim Benali".to_string(),
            orientation: Some(Orientation::Professional),
            finalised_at: None,
        })
        .collect();
    // 20 objectives + 200 steps + 200 interviews + 40 events + 5 contracts + 15 orientations +
    // 20 diagnostics = 500 records.
    (f, diagnostics)
}

fn median_ms(mut run: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn main() {
    let mut rng = Rng(0x7a4d_e3f1_0b2c_9e85);
    let (files, names, births) = caseload(&mut rng);
    let subjects: Vec<ReviewSubject<'_>> = files
        .iter()
        .zip(&names)
        .zip(&births)
        .map(|((file, name), birth)| ReviewSubject {
            name,
            birth_date: *birth,
            file,
        })
        .collect();
    let review_ms = median_ms(|| {
        let review = status_review(black_box(&subjects), ReviewSettings::default(), today())
            .expect("default settings are valid");
        black_box(review);
    });

    let (person, diagnostics) = person_with_500_events(&mut rng);
    let filter = TimelineFilter::default();
    let mut entries = 0;
    let timeline_ms = median_ms(|| {
        let tl = timeline(
            black_box(&person),
            black_box(&diagnostics),
            NaiveDate::from_ymd_opt(2001, 3, 10),
            today(),
            &filter,
        );
        entries = tl.len();
        black_box(tl);
    });
    assert!(entries >= 500, "the timeline has {entries} entries");

    println!("BENCH review_5k_ms {review_ms:.3}");
    println!("BENCH timeline_500_ms {timeline_ms:.3}");
}
