//! The follow-up file: edits and their refusals, importing a diagnostic's plan, continuity across
//! changes of situation (turning 26, leaving RSA, a new referent), the timeline and review groups.

use chrono::{NaiveDate, TimeZone, Utc};
use tandem_domain::diagnostic::{
    ActionField, ActionStatus, CaseworkerIdentity, DiagnosticEdit, DiagnosticStatus,
    DiagnosticSummary, Orientation,
};
use tandem_domain::diagnostic_rules::{self as rules, EditContext};
use tandem_domain::followup::continuity::StatusChangeKind;
use tandem_domain::followup::group::ReviewMeeting;
use tandem_domain::followup::{
    agenda_edit, apply, apply_meeting_edit, decision_edit, new_meeting, open_objectives,
    plan_edits, referent_history, referent_on, review_row, timeline, CaseDecision, DecidedBy,
    EngagementContractKind, FollowUp, FollowUpContext, FollowUpEdit, FollowUpError, InterviewKind,
    MeetingEdit, MeetingError, ObjectiveStatus, Reorientation, ReviewSettings, ReviewSubject,
    StatusChange, StepTextField, TimelineEntry, TimelineFilter, TimelineKind,
};
use tandem_domain::referentiel;
use tandem_domain::rome::RomeIndex;
use tandem_domain::validation::ValidationReason;
use tandem_domain::{Role, RsaStatus};
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn ctx(today: NaiveDate) -> FollowUpContext {
    FollowUpContext { today }
}

fn ok(f: &mut FollowUp, today: NaiveDate, e: FollowUpEdit) {
    apply(f, &e, ctx(today)).unwrap_or_else(|err| panic!("{e:?}: {err}"));
}

fn objective(n: u128, theme: &str, label: &str, on: NaiveDate) -> FollowUpEdit {
    FollowUpEdit::AddObjective {
        id: id(n),
        theme: theme.into(),
        label: label.into(),
        opened_on: on,
    }
}

fn add_step(
    n: u128,
    objective: Option<u128>,
    label: &str,
    start: Option<NaiveDate>,
) -> FollowUpEdit {
    FollowUpEdit::AddStep {
        id: id(n),
        objective_id: objective.map(id),
        theme: None,
        label: label.into(),
        planned_start: start,
        planned_end: None,
        created_on: d(2026, 9, 1),
    }
}

fn interview(n: u128, date: NaiveDate, themes: &[&str]) -> FollowUpEdit {
    FollowUpEdit::RecordInterview {
        id: id(n),
        date,
        interview_kind: InterviewKind::FollowUp,
        attended: true,
        by: "Inès Moreau".into(),
        themes: themes.iter().map(|t| t.to_string()).collect(),
    }
}

fn status(n: u128, date: NaiveDate, change: StatusChange) -> FollowUpEdit {
    FollowUpEdit::RecordStatusEvent {
        id: id(n),
        date,
        change,
    }
}

fn referent(name: &str, structure: &str) -> StatusChange {
    StatusChange::ReferentChanged {
        referent: name.into(),
        structure: structure.into(),
    }
}

fn rsa(s: RsaStatus, code: Option<&str>) -> StatusChange {
    StatusChange::Rsa {
        status: s,
        reason_code: code.map(str::to_string),
    }
}

/// A file with two objectives, three steps, a contract and a referent.
fn seeded() -> FollowUp {
    let today = d(2026, 11, 26);
    let mut f = FollowUp::new(id(1));
    ok(
        &mut f,
        today,
        objective(10, "logement", "Accéder à un logement", d(2026, 9, 1)),
    );
    ok(
        &mut f,
        today,
        objective(11, "mobilite", "Passer le permis", d(2026, 9, 1)),
    );
    ok(
        &mut f,
        today,
        add_step(
            20,
            Some(10),
            "Demande de logement social",
            Some(d(2026, 9, 15)),
        ),
    );
    ok(
        &mut f,
        today,
        add_step(21, Some(11), "Code de la route", Some(d(2026, 10, 1))),
    );
    ok(&mut f, today, add_step(22, None, "Atelier numérique", None));
    ok(
        &mut f,
        today,
        FollowUpEdit::AddContract {
            id: id(30),
            contract_kind: EngagementContractKind::Cej,
            start: d(2026, 9, 1),
            end: Some(d(2027, 9, 1)),
            objective_ids: vec![id(10), id(11)],
        },
    );
    ok(
        &mut f,
        today,
        status(
            40,
            d(2026, 9, 1),
            referent("Karim Benali", "Mission locale de Lyon"),
        ),
    );
    f
}

#[test]
fn refused_edits_change_nothing() {
    let today = d(2026, 11, 26);
    let tomorrow = d(2026, 11, 27);
    let validation = |field: &'static str, reason| {
        FollowUpError::Validation(tandem_domain::ValidationError::new(field, reason))
    };
    let cases: Vec<(&str, FollowUpEdit, FollowUpError)> = vec![
        (
            "an interview tomorrow",
            interview(50, tomorrow, &[]),
            validation("interview_date", ValidationReason::FutureDate),
        ),
        (
            "a step that ends before it starts",
            FollowUpEdit::AddStep {
                id: id(23),
                objective_id: None,
                theme: None,
                label: "Stage".into(),
                planned_start: Some(d(2027, 1, 31)),
                planned_end: Some(d(2027, 1, 30)),
                created_on: today,
            },
            FollowUpError::EndBeforeStart {
                field: "step_planned_end",
            },
        ),
        (
            "a step without a label",
            add_step(23, None, "  ", None),
            validation("step_label", ValidationReason::Required),
        ),
        (
            "a step for an unknown objective",
            add_step(23, Some(99), "Stage", None),
            FollowUpError::Unknown("objectif"),
        ),
        (
            "actual dates in the future",
            FollowUpEdit::SetStepActualDates {
                id: id(20),
                start: Some(today),
                end: Some(tomorrow),
            },
            validation("step_actual_date", ValidationReason::FutureDate),
        ),
        (
            "an unknown step",
            FollowUpEdit::SetStepStatus {
                id: id(99),
                status: ActionStatus::Done,
            },
            FollowUpError::Unknown("étape"),
        ),
        (
            "a closure reason for a suspension",
            status(
                41,
                today,
                rsa(RsaStatus::Suspended, Some("caf_radie_fin_droit")),
            ),
            FollowUpError::UnknownCafReason("caf_radie_fin_droit".into()),
        ),
        (
            "an invented CAF code",
            status(41, today, rsa(RsaStatus::Closed, Some("caf_parti"))),
            FollowUpError::UnknownCafReason("caf_parti".into()),
        ),
        (
            "RSA « none » is not an event",
            status(41, today, rsa(RsaStatus::None, None)),
            validation("rsa_status", ValidationReason::InvalidChoice),
        ),
        (
            "a referent without a name",
            status(41, today, referent("", "CCAS")),
            validation("referent", ValidationReason::Required),
        ),
        (
            "a contract carrying an unknown objective",
            FollowUpEdit::AddContract {
                id: id(31),
                contract_kind: EngagementContractKind::Cer,
                start: today,
                end: None,
                objective_ids: vec![id(10), id(99)],
            },
            FollowUpError::Unknown("objectif"),
        ),
        (
            "a contract ending before it starts",
            FollowUpEdit::SetContractEnd {
                id: id(30),
                end: Some(d(2026, 8, 31)),
            },
            FollowUpError::EndBeforeStart {
                field: "contract_end",
            },
        ),
        (
            "an objective closed before it was opened",
            FollowUpEdit::SetObjectiveStatus {
                id: id(10),
                status: ObjectiveStatus::Achieved,
                on: d(2026, 8, 1),
            },
            FollowUpError::EndBeforeStart {
                field: "objective_closed_on",
            },
        ),
        (
            "a reorientation without reasons",
            FollowUpEdit::RecordReviewDecision {
                meeting_id: id(70),
                date: today,
                structures_present: vec![],
                decision: CaseDecision {
                    reorientation: Some(Reorientation {
                        orientation: Orientation::Social,
                        reasons: " ".into(),
                    }),
                    ..Default::default()
                },
            },
            validation("reorientation_reasons", ValidationReason::Required),
        ),
        (
            "a next review before the meeting",
            FollowUpEdit::RecordReviewDecision {
                meeting_id: id(70),
                date: today,
                structures_present: vec![],
                decision: CaseDecision {
                    next_review: Some(d(2026, 11, 1)),
                    ..Default::default()
                },
            },
            FollowUpError::EndBeforeStart {
                field: "next_review",
            },
        ),
        (
            "an orientation decided by a structure with no name",
            FollowUpEdit::RecordOrientation {
                id: id(80),
                date: today,
                orientation: Orientation::Professional,
                reasons: String::new(),
                decided_by: DecidedBy::Structure {
                    structure: String::new(),
                },
            },
            validation("orientation_structure", ValidationReason::Required),
        ),
    ];
    for (name, edit, expected) in cases {
        let mut f = seeded();
        let before = f.clone();
        let err = apply(&mut f, &edit, ctx(today)).unwrap_err();
        assert_eq!(err, expected, "{name}");
        assert_eq!(f, before, "{name}: nothing changed");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn retried_edits_never_duplicate() {
    let today = d(2026, 11, 26);
    let mut f = seeded();
    let edits = [
        add_step(20, Some(10), "Autre libellé", None),
        interview(50, d(2026, 11, 2), &[]),
        status(41, d(2026, 11, 3), rsa(RsaStatus::Open, None)),
        objective(10, "logement", "Autre", today),
    ];
    for e in &edits {
        ok(&mut f, today, e.clone());
    }
    let once = f.clone();
    for e in &edits {
        ok(&mut f, today, e.clone());
    }
    assert_eq!(f, once);
    assert_eq!(f.steps.len(), 3);
    assert_eq!(f.steps[0].label, "Demande de logement social");
}

#[test]
fn step_fields_and_actual_dates() {
    let today = d(2026, 11, 26);
    let mut f = seeded();
    assert_eq!(
        f.steps[0].theme.as_deref(),
        Some("logement"),
        "from its objective"
    );
    ok(
        &mut f,
        today,
        FollowUpEdit::SetStepText {
            id: id(20),
            field: StepTextField::Provider,
            value: " Action Logement ".into(),
        },
    );
    ok(
        &mut f,
        today,
        FollowUpEdit::SetStepActualDates {
            id: id(20),
            start: Some(d(2026, 9, 16)),
            end: None,
        },
    );
    assert_eq!(f.steps[0].provider, "Action Logement");
    assert_eq!(f.steps[0].status, ActionStatus::InProgress);
    ok(
        &mut f,
        today,
        FollowUpEdit::SetStepActualDates {
            id: id(20),
            start: Some(d(2026, 9, 16)),
            end: Some(d(2026, 10, 30)),
        },
    );
    assert_eq!(f.steps[0].status, ActionStatus::Done);
    ok(
        &mut f,
        today,
        FollowUpEdit::SetStepText {
            id: id(20),
            field: StepTextField::Outcome,
            value: "Dossier déposé.\nRéponse attendue en janvier.".into(),
        },
    );
    assert!(f.steps[0].outcome.contains('\n'));
}

#[test]
fn a_diagnostic_plan_becomes_objectives_and_steps_once() {
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).unwrap();
    let referentiel = referentiel::embedded();
    let ectx = EditContext {
        referentiel,
        rome: RomeIndex::embedded(),
        now,
        by: "Camille Roux",
    };
    let mut diag = rules::new_draft(
        id(100),
        id(101),
        id(1),
        CaseworkerIdentity {
            name: "Camille Roux".into(),
            structure: "CCAS de Villeurbanne".into(),
            role: Role::Social,
            contact: String::new(),
        },
        referentiel,
        now,
    );
    let label = referentiel
        .themes
        .iter()
        .find(|t| t.key == "logement")
        .unwrap()
        .objectives[0]
        .clone();
    for e in [
        DiagnosticEdit::AddObjective {
            id: id(110),
            theme: "logement".into(),
            label: label.clone(),
        },
        DiagnosticEdit::AddAction {
            id: id(111),
            objective_id: id(110),
            label: "Déposer une demande de logement social".into(),
        },
        DiagnosticEdit::SetActionField {
            id: id(111),
            field: ActionField::DueDate,
            value: "2027-01-31".into(),
        },
        DiagnosticEdit::SetActionField {
            id: id(111),
            field: ActionField::Who,
            value: "Action Logement".into(),
        },
    ] {
        rules::apply_edit(&mut diag, &e, &ectx).unwrap();
    }
    let today = d(2026, 11, 26);
    let mut f = FollowUp::new(id(1));
    for e in plan_edits(&diag, &f, today) {
        ok(&mut f, today, e);
    }
    assert_eq!(f.objectives.len(), 1);
    assert_eq!(
        (f.objectives[0].id, f.objectives[0].label.as_str()),
        (id(110), label.as_str())
    );
    let step = &f.steps[0];
    assert_eq!(step.id, id(111), "a step keeps its action's id");
    assert_eq!(step.objective_id, Some(id(110)));
    assert_eq!(step.theme.as_deref(), Some("logement"));
    assert_eq!(step.planned_end, Some(d(2027, 1, 31)));
    assert_eq!(step.provider, "Action Logement");
    assert!(
        plan_edits(&diag, &f, today).is_empty(),
        "importing again adds nothing"
    );

    // A later action of the same plan (e.g. from an amended version) adds only itself.
    rules::apply_edit(
        &mut diag,
        &DiagnosticEdit::AddAction {
            id: id(112),
            objective_id: id(110),
            label: "Rencontrer le bailleur".into(),
        },
        &ectx,
    )
    .unwrap();
    let more = plan_edits(&diag, &f, d(2026, 12, 1));
    assert_eq!(more.len(), 1);
    for e in more {
        ok(&mut f, d(2026, 12, 1), e);
    }
    assert_eq!(f.steps.len(), 2);
}

/// A person born on 10 March 2001, followed by a mission locale under a CEJ, with RSA open. On
/// 10 March 2027 she turns 26; the RSA closes; the CEJ ends; the département takes over with a
/// new referent and a CER. Nothing is lost.
#[test]
fn turning_26_leaving_rsa_and_a_new_referent_keep_everything() {
    let birth = d(2001, 3, 10);
    let mut f = seeded();
    let t0 = d(2026, 12, 1);
    ok(&mut f, t0, interview(50, d(2026, 10, 5), &["logement"]));
    ok(&mut f, t0, interview(51, d(2026, 11, 30), &["mobilite"]));
    ok(
        &mut f,
        t0,
        status(41, d(2026, 9, 1), rsa(RsaStatus::Open, None)),
    );
    ok(
        &mut f,
        t0,
        FollowUpEdit::SetObjectiveStatus {
            id: id(11),
            status: ObjectiveStatus::Achieved,
            on: d(2026, 11, 30),
        },
    );
    ok(
        &mut f,
        t0,
        objective(12, "emploi", "Trouver un emploi durable", d(2026, 11, 30)),
    );
    let open_before: Vec<Uuid> = open_objectives(&f).iter().map(|o| o.id).collect();
    assert_eq!(open_before, vec![id(10), id(12)]);
    let steps_before = f.steps.clone();
    let interviews_before = f.interviews.clone();

    let t1 = d(2027, 4, 15);
    let changes = [
        status(
            42,
            d(2027, 3, 31),
            rsa(RsaStatus::Closed, Some("caf_radie_fin_droit")),
        ),
        status(
            43,
            d(2027, 4, 1),
            referent("Sophie Garnier", "Département du Rhône"),
        ),
    ];
    for e in changes {
        let objectives = f.objectives.clone();
        ok(&mut f, t1, e);
        assert_eq!(
            f.objectives, objectives,
            "a status event never touches objectives"
        );
        assert_eq!(f.steps, steps_before, "nor steps");
    }
    ok(
        &mut f,
        t1,
        FollowUpEdit::SetContractEnd {
            id: id(30),
            end: Some(d(2027, 3, 10)),
        },
    );
    ok(
        &mut f,
        t1,
        FollowUpEdit::AddContract {
            id: id(31),
            contract_kind: EngagementContractKind::Cer,
            start: d(2027, 4, 1),
            end: None,
            objective_ids: open_before.clone(),
        },
    );

    // Every open objective is still open and carried by the new contract.
    let open_after: Vec<Uuid> = open_objectives(&f).iter().map(|o| o.id).collect();
    assert_eq!(open_after, open_before);
    assert_eq!(f.contracts[1].objective_ids, open_before);
    // The ended contract keeps its objectives too.
    assert_eq!(f.contracts[0].objective_ids, vec![id(10), id(11)]);
    assert_eq!(f.steps, steps_before);
    assert_eq!(f.interviews, interviews_before);

    // Who was referent when.
    for (date, expected) in [
        (d(2026, 8, 31), None),
        (d(2026, 9, 1), Some("Karim Benali")),
        (d(2027, 3, 31), Some("Karim Benali")),
        (d(2027, 4, 1), Some("Sophie Garnier")),
        (d(2030, 1, 1), Some("Sophie Garnier")),
    ] {
        assert_eq!(
            referent_on(&f, date).map(|p| p.referent),
            expected.map(str::to_string),
            "{date}"
        );
    }
    let history = referent_history(&f);
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].until, Some(d(2027, 4, 1)));
    assert_eq!(history[1].structure, "Département du Rhône");
    assert_eq!(history[1].until, None);

    // The new referent's timeline holds the whole history, with the changes in place.
    let tl = timeline(&f, &[], Some(birth), t1, &TimelineFilter::default());
    let changes: Vec<(NaiveDate, StatusChangeKind)> = tl
        .iter()
        .filter_map(|e| e.status_change.map(|k| (e.date, k)))
        .collect();
    assert_eq!(
        changes,
        vec![
            // Same day: by source id (contract 30, events 40 and 41); turning 26 has none.
            (d(2026, 9, 1), StatusChangeKind::ContractStarted),
            (d(2026, 9, 1), StatusChangeKind::ReferentChanged),
            (d(2026, 9, 1), StatusChangeKind::RsaOpened),
            (d(2027, 3, 10), StatusChangeKind::Turned26),
            (d(2027, 3, 10), StatusChangeKind::ContractEnded),
            (d(2027, 3, 31), StatusChangeKind::RsaClosed),
            (d(2027, 4, 1), StatusChangeKind::ContractStarted),
            (d(2027, 4, 1), StatusChangeKind::ReferentChanged),
        ]
    );
    let closed = tl
        .iter()
        .find(|e| e.status_change == Some(StatusChangeKind::RsaClosed))
        .unwrap();
    assert_eq!(closed.title, "RSA clos : Radié fin de droit");
    let count = |k: TimelineKind| tl.iter().filter(|e| e.kind == k).count();
    assert_eq!(count(TimelineKind::Interview), 2);
    assert_eq!(count(TimelineKind::Step), 3);
    assert_eq!(count(TimelineKind::ObjectiveOpened), 3);
    assert_eq!(count(TimelineKind::ObjectiveClosed), 1);

    // The status review under the new referent still sees the open pathway.
    let row = review_row(
        &ReviewSubject {
            name: "Lefèvre Hélène",
            birth_date: Some(birth),
            file: &f,
        },
        ReviewSettings::default(),
        t1,
    );
    assert_eq!(
        row.referent.as_deref(),
        Some("Sophie Garnier (Département du Rhône)")
    );
    assert_eq!(row.last_interview, Some(d(2026, 11, 30)));
}

fn summary(n: u128, version: u32, status: DiagnosticStatus, date: &str) -> DiagnosticSummary {
    DiagnosticSummary {
        id: id(n),
        series_id: id(100),
        version,
        status,
        date: Some(date.into()),
        caseworker_name: "Camille Roux".into(),
        co_interviewer_name: "Karim Benali".into(),
        orientation: Some(Orientation::SocioProfessional),
        finalised_at: None,
    }
}

fn keys(tl: &[TimelineEntry]) -> Vec<(NaiveDate, TimelineKind, Option<Uuid>)> {
    tl.iter().map(|e| (e.date, e.kind, e.source_id)).collect()
}

#[test]
fn timeline_is_in_date_order_with_stable_ties_and_filters_by_theme() {
    let today = d(2026, 12, 1);
    let mut f = seeded();
    ok(&mut f, today, interview(50, d(2026, 9, 15), &["logement"]));
    ok(&mut f, today, interview(51, d(2026, 9, 15), &[]));
    ok(&mut f, today, interview(52, d(2026, 10, 1), &["mobilite"]));
    ok(
        &mut f,
        today,
        FollowUpEdit::RecordOrientation {
            id: id(80),
            date: d(2026, 9, 1),
            orientation: Orientation::SocioProfessional,
            reasons: "Logement d’abord".into(),
            decided_by: DecidedBy::Structure {
                structure: "CCAS de Villeurbanne".into(),
            },
        },
    );
    let diagnostics = [
        summary(200, 1, DiagnosticStatus::Finalised, "2026-09-01"),
        summary(201, 2, DiagnosticStatus::Draft, "2026-11-20"),
    ];
    let tl = timeline(&f, &diagnostics, None, today, &TimelineFilter::default());
    assert_eq!(
        keys(&tl),
        vec![
            (d(2026, 9, 1), TimelineKind::Diagnostic, Some(id(200))),
            (d(2026, 9, 1), TimelineKind::Orientation, Some(id(80))),
            (d(2026, 9, 1), TimelineKind::StatusChange, Some(id(30))),
            (d(2026, 9, 1), TimelineKind::StatusChange, Some(id(40))),
            (d(2026, 9, 1), TimelineKind::ObjectiveOpened, Some(id(10))),
            (d(2026, 9, 1), TimelineKind::ObjectiveOpened, Some(id(11))),
            (d(2026, 9, 1), TimelineKind::Step, Some(id(22))),
            (d(2026, 9, 15), TimelineKind::Step, Some(id(20))),
            (d(2026, 9, 15), TimelineKind::Interview, Some(id(50))),
            (d(2026, 9, 15), TimelineKind::Interview, Some(id(51))),
            (d(2026, 10, 1), TimelineKind::Step, Some(id(21))),
            (d(2026, 10, 1), TimelineKind::Interview, Some(id(52))),
            (d(2026, 11, 20), TimelineKind::Diagnostic, Some(id(201))),
        ]
    );
    assert_eq!(tl[0].title, "Diagnostic partagé, version 1");
    assert_eq!(tl[12].title, "Diagnostic partagé, version 2 (brouillon)");
    assert_eq!(
        tl[0].detail,
        "Avec Camille Roux et Karim Benali ; orientation socio-professionnelle"
    );
    assert_eq!(
        tl[6].detail, "sans date, prévue",
        "an undated step sits on its creation day"
    );
    // The contract's end (1 September 2027) is after today: not shown yet.
    assert!(!tl
        .iter()
        .any(|e| e.status_change == Some(StatusChangeKind::ContractEnded)));

    // Same records in another order: same timeline.
    let mut shuffled = f.clone();
    shuffled.steps.reverse();
    shuffled.interviews.reverse();
    shuffled.objectives.reverse();
    let mut diags = diagnostics.to_vec();
    diags.reverse();
    assert_eq!(
        timeline(&shuffled, &diags, None, today, &TimelineFilter::default()),
        tl
    );

    let logement = timeline(
        &f,
        &diagnostics,
        None,
        today,
        &TimelineFilter {
            theme: Some("logement".into()),
        },
    );
    assert_eq!(
        keys(&logement),
        vec![
            (d(2026, 9, 1), TimelineKind::StatusChange, Some(id(30))),
            (d(2026, 9, 1), TimelineKind::ObjectiveOpened, Some(id(10))),
            (d(2026, 9, 15), TimelineKind::Step, Some(id(20))),
            (d(2026, 9, 15), TimelineKind::Interview, Some(id(50))),
        ]
    );
    let nothing = timeline(
        &f,
        &diagnostics,
        None,
        today,
        &TimelineFilter {
            theme: Some("sante".into()),
        },
    );
    assert!(nothing.is_empty());
}

fn meeting_with_case(person: Uuid) -> ReviewMeeting {
    let mut m = new_meeting(id(70), d(2026, 11, 24));
    for e in [
        MeetingEdit::SetStructures {
            structures: vec![
                "Département du Rhône".into(),
                "France Travail Lyon".into(),
                " Département du Rhône ".into(),
            ],
        },
        MeetingEdit::AddCase {
            person_id: person,
            reason: "Aucun entretien".into(),
        },
    ] {
        apply_meeting_edit(&mut m, &e).unwrap();
    }
    m
}

#[test]
fn a_review_group_decision_lands_on_the_persons_timeline_through_the_journal() {
    let person = id(1);
    let today = d(2026, 11, 26);
    let mut laptop_a = seeded();
    let mut laptop_b = laptop_a.clone();

    // On the agenda from the status review.
    let row = review_row(
        &ReviewSubject {
            name: "Lefèvre Hélène",
            birth_date: None,
            file: &laptop_a,
        },
        ReviewSettings::default(),
        today,
    );
    let mut m = meeting_with_case(person);
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::AddCase {
            person_id: person,
            reason: row.agenda_reason(),
        },
    )
    .unwrap();
    assert_eq!(m.cases.len(), 1);
    assert!(m.cases[0].reason.contains("Aucun entretien"));
    assert_eq!(m.structures_present.len(), 2);
    assert!(matches!(
        decision_edit(&m, person),
        Err(MeetingError::NoDecision)
    ));

    let decision = CaseDecision {
        reorientation: Some(Reorientation {
            orientation: Orientation::Social,
            reasons: "Problème de santé à traiter d’abord".into(),
        }),
        actions: vec!["Rendez-vous avec l’assistante sociale".into()],
        next_review: Some(d(2027, 2, 23)),
        notes: String::new(),
    };
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::Decide {
            person_id: person,
            decision: decision.clone(),
        },
    )
    .unwrap();
    let edit = decision_edit(&m, person).unwrap();
    ok(&mut laptop_a, today, edit.clone());

    // The journal carries the edit as JSON; the other laptop applies the same edit.
    let wire = serde_json::to_string(&edit).unwrap();
    assert!(wire.contains("\"kind\":\"record_review_decision\""));
    let received: FollowUpEdit = serde_json::from_str(&wire).unwrap();
    ok(&mut laptop_b, today, received);
    assert_eq!(laptop_b, laptop_a);

    let tl = timeline(&laptop_b, &[], None, today, &TimelineFilter::default());
    let decided = tl
        .iter()
        .find(|e| e.kind == TimelineKind::ReviewDecision)
        .unwrap();
    assert_eq!(decided.date, d(2026, 11, 24));
    assert_eq!(
        decided.title,
        "Décision du groupe de suivi (Département du Rhône, France Travail Lyon)"
    );
    assert_eq!(
        decided.detail,
        "réorientation sociale (Problème de santé à traiter d’abord) ; actions : Rendez-vous \
         avec l’assistante sociale ; prochain examen le 23/02/2027"
    );
    let orientation = tl
        .iter()
        .find(|e| e.kind == TimelineKind::Orientation)
        .unwrap();
    assert_eq!(orientation.title, "Orientation sociale");
    assert_eq!(
        orientation.detail,
        "Décidée en groupe de suivi : Problème de santé à traiter d’abord"
    );

    // A corrected minute replaces the decision instead of adding a second one.
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::Decide {
            person_id: person,
            decision: CaseDecision {
                reorientation: None,
                ..decision
            },
        },
    )
    .unwrap();
    ok(&mut laptop_a, today, decision_edit(&m, person).unwrap());
    assert_eq!(laptop_a.review_decisions.len(), 1);
    assert!(laptop_a.orientations.is_empty());
}

#[test]
fn a_meeting_is_rebuilt_person_by_person_from_the_files_that_name_it() {
    use tandem_domain::followup::group::meetings_from_file;
    let (helene, marc) = (id(1), id(2));
    let today = d(2026, 11, 26);
    let mut m = meeting_with_case(helene);
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::AddCase {
            person_id: marc,
            reason: "Étape en retard".into(),
        },
    )
    .unwrap();
    let (mut file_h, mut file_m) = (FollowUp::new(helene), FollowUp::new(marc));
    ok(&mut file_h, today, agenda_edit(&m, helene));
    ok(&mut file_m, today, agenda_edit(&m, marc));

    // Another laptop that follows only Marc sees the meeting with Marc alone.
    let rebuilt = meetings_from_file(&file_m, |_| None);
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt[0].id, m.id);
    assert_eq!(rebuilt[0].date, m.date);
    assert_eq!(rebuilt[0].structures_present, m.structures_present);
    assert_eq!(rebuilt[0].cases.len(), 1);
    assert_eq!(rebuilt[0].cases[0].reason, "Étape en retard");
    // Following both, it sees the whole meeting; applying a file twice changes nothing more.
    let both = meetings_from_file(&file_h, |_| Some(rebuilt[0].clone()));
    assert_eq!(both[0].cases.len(), 2);
    assert!(meetings_from_file(&file_h, |_| Some(both[0].clone())).is_empty());

    // The decision travels in the file too; taking Marc off the agenda removes his case.
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::Decide {
            person_id: helene,
            decision: CaseDecision {
                reorientation: None,
                actions: vec!["Atelier CV".into()],
                next_review: None,
                notes: String::new(),
            },
        },
    )
    .unwrap();
    ok(&mut file_h, today, decision_edit(&m, helene).unwrap());
    apply_meeting_edit(&mut m, &MeetingEdit::RemoveCase { person_id: marc }).unwrap();
    ok(&mut file_m, today, agenda_edit(&m, marc));
    assert!(!file_m.review_agenda[0].on_agenda);
    let mut seen = both[0].clone();
    for file in [&file_h, &file_m] {
        for changed in meetings_from_file(file, |_| Some(seen.clone())) {
            seen = changed;
        }
    }
    assert_eq!(seen, m);
    // A laptop that only ever saw Marc taken off never lists the meeting.
    assert!(meetings_from_file(&file_m, |_| None).is_empty());
    // Files written before agendas synced still read.
    let mut old = serde_json::to_value(FollowUp::new(helene)).unwrap();
    old.as_object_mut().unwrap().remove("review_agenda");
    let old: FollowUp = serde_json::from_value(old).unwrap();
    assert!(old.review_agenda.is_empty());
}

#[test]
fn meeting_rules() {
    let person = id(1);
    let mut m = meeting_with_case(person);
    assert!(matches!(
        apply_meeting_edit(
            &mut m,
            &MeetingEdit::Decide {
                person_id: id(2),
                decision: CaseDecision::default(),
            },
        ),
        Err(MeetingError::NotOnAgenda)
    ));
    assert!(matches!(
        apply_meeting_edit(
            &mut m,
            &MeetingEdit::Decide {
                person_id: person,
                decision: CaseDecision {
                    next_review: Some(d(2026, 11, 23)),
                    ..Default::default()
                },
            },
        ),
        Err(MeetingError::Invalid(FollowUpError::EndBeforeStart { .. }))
    ));
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::Decide {
            person_id: person,
            decision: CaseDecision::default(),
        },
    )
    .unwrap();
    let before = m.clone();
    for e in [
        MeetingEdit::RemoveCase { person_id: person },
        MeetingEdit::SetDate {
            date: d(2026, 12, 1),
        },
    ] {
        assert!(matches!(
            apply_meeting_edit(&mut m, &e),
            Err(MeetingError::AlreadyDecided)
        ));
    }
    assert_eq!(m, before);
    apply_meeting_edit(
        &mut m,
        &MeetingEdit::AddCase {
            person_id: id(2),
            reason: String::new(),
        },
    )
    .unwrap();
    apply_meeting_edit(&mut m, &MeetingEdit::RemoveCase { person_id: id(2) }).unwrap();
    assert_eq!(m.cases.len(), 1);
}

#[test]
fn ui_types_have_typescript_declarations() {
    use ts_rs::TS;
    let cfg = ts_rs::Config::default();
    let edit = FollowUpEdit::decl(&cfg);
    assert!(edit.contains("\"kind\": \"record_interview\""), "{edit}");
    assert!(edit.contains("interview_kind: InterviewKind"), "{edit}");
    let change = StatusChange::decl(&cfg);
    assert!(change.contains("\"kind\": \"rsa\""), "{change}");
    let flag = tandem_domain::followup::ReviewFlag::decl(&cfg);
    assert!(flag.contains("\"kind\": \"work_follow_up_due\""), "{flag}");
    let entry = TimelineEntry::decl(&cfg);
    assert!(entry.contains("date: string"), "{entry}");
}
