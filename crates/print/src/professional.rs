//! The professionals' summary: the whole diagnostic, with who wrote what.
//!
//! Notes reserved to the social field are shown only to a social-field reader, or to anyone
//! once the person has agreed to share them; otherwise a line counts them, so the reader knows
//! something is withheld without learning what.

use tandem_domain::diagnostic::{
    Diagnostic, DiagnosticStatus, Grade, Note, NoteVisibility, ProfessionalProject,
};
use tandem_domain::Role;

use crate::french::{self, quoted};
use crate::layout::{bold, regular, Layout, Span, Style, Table};
use crate::{full_name, PrintInput};

pub(crate) const TITLE: &str = "Diagnostic partagé – synthèse pour les professionnels";

pub(crate) fn style() -> Style {
    Style {
        title: 18.0,
        heading: 14.0,
        subheading: 12.0,
        body: 10.5,
        leading: 14.5,
        table: 10.0,
        table_leading: 13.5,
        small: 9.0,
        chrome: 9.5,
        paragraph_gap: 4.0,
        cell_padding: 4.0,
    }
}

/// Whether this reader may see notes reserved to the social field.
fn shows_social_notes(input: &PrintInput<'_>) -> bool {
    input.reader_role == Role::Social || input.diagnostic.consent.share_social_notes
}

pub(crate) fn build(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.title(TITLE);
    identity(l, input);
    themes(l, input);
    general_notes(l, input);
    words_and_project(l, d);
    orientation(l, d);
    plan(l, input);
    consent(l, d);
    version(l, d);
}

fn pair(l: &mut Layout<'_>, label: &str, value: impl Into<String>) {
    let value = value.into();
    if !value.trim().is_empty() {
        l.paragraph(&[bold(format!("{label} : ")), regular(value.trim())]);
    }
}

fn identity(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let (d, p) = (input.diagnostic, input.person);
    l.heading("Entretien");
    let mut person = full_name(p);
    if let Some(birth) = p.birth_date {
        person.push_str(&format!(", née ou né le {}", french::date(birth)));
    }
    pair(l, "Personne", person);
    pair(
        l,
        "Date",
        d.date
            .as_deref()
            .map_or("non renseignée".to_string(), french::iso_date),
    );
    pair(l, "Lieu", d.place.as_str());
    pair(
        l,
        "Professionnel référent",
        format!(
            "{}, {}",
            french::author(d, tandem_domain::diagnostic::Interviewer::Caseworker),
            d.caseworker.structure
        ),
    );
    let co = &d.co_interviewer;
    if !co.name.trim().is_empty() {
        let mut text = french::author(d, tandem_domain::diagnostic::Interviewer::CoInterviewer);
        if !co.structure.trim().is_empty() {
            text.push_str(&format!(", {}", co.structure.trim()));
        }
        pair(l, "Second professionnel", text);
    }
    pair(l, "Contact du référent", input.caseworker_contact.as_str());
    pair(
        l,
        "Contact du second professionnel",
        input.co_interviewer_contact.as_str(),
    );
    if let Some(next) = &input.next_appointment {
        pair(l, "Prochain rendez-vous", next.as_str());
    }
}

/// The notes of one place (a theme, or `None` for general notes) this reader may see, and
/// how many are withheld.
fn notes_for<'d>(input: &PrintInput<'d>, theme: Option<&str>) -> (Vec<&'d Note>, usize) {
    let all_social = shows_social_notes(input);
    let mut shown = Vec::new();
    let mut hidden = 0;
    for note in input
        .diagnostic
        .notes
        .iter()
        .filter(|n| n.theme.as_deref() == theme)
    {
        if note.visibility == NoteVisibility::SocialOnly && !all_social {
            hidden += 1;
        } else {
            shown.push(note);
        }
    }
    shown.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    (shown, hidden)
}

fn notes(l: &mut Layout<'_>, input: &PrintInput<'_>, theme: Option<&str>) -> bool {
    let d = input.diagnostic;
    let (shown, hidden) = notes_for(input, theme);
    for note in &shown {
        let mut header = vec![
            bold(french::author(d, note.author)),
            regular(format!(" – {}", french::rfc3339(&note.created_at))),
        ];
        if note.visibility == NoteVisibility::SocialOnly {
            header.push(regular(" – réservée au travail social"));
        }
        // The author line stays with the first lines of the note.
        l.keep_lines(3);
        l.paragraph(&header);
        l.indented(&[regular(note.text.as_str())]);
    }
    if hidden > 0 {
        l.small(&[regular(format!(
            "{hidden} note(s) réservée(s) au travail social non affichée(s)"
        ))]);
    }
    !shown.is_empty() || hidden > 0
}

fn themes(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.heading("Situation par thème");
    let mut not_discussed = Vec::new();
    let mut any = false;
    for theme in &d.themes {
        let label = french::theme_label(input.referentiel, &theme.theme);
        let has_notes = d
            .notes
            .iter()
            .any(|n| n.theme.as_deref() == Some(theme.theme.as_str()));
        if theme.grade == Grade::NotDiscussed && theme.situations.is_empty() && !has_notes {
            not_discussed.push(label);
            continue;
        }
        any = true;
        l.subheading(&format!("{label} – {}", french::grade(theme.grade)));
        if !theme.situations.is_empty() {
            for situation in &theme.situations {
                l.bullet(&[regular(situation.as_str())]);
            }
        }
        notes(l, input, Some(&theme.theme));
    }
    if !any {
        l.paragraph(&[regular("Aucun thème n’a été évalué.")]);
    }
    if !not_discussed.is_empty() {
        l.paragraph(&[bold("Non abordés : "), regular(not_discussed.join(", "))]);
    }
}

fn general_notes(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    if input.diagnostic.notes.iter().any(|n| n.theme.is_none()) {
        l.heading("Notes générales");
        notes(l, input, None);
    }
}

fn words_and_project(l: &mut Layout<'_>, d: &Diagnostic) {
    l.heading("Paroles de la personne");
    let words = &d.person_words;
    if words.wishes.trim().is_empty() && words.priorities.trim().is_empty() {
        l.paragraph(&[regular("Non renseignées.")]);
    } else {
        if !words.wishes.trim().is_empty() {
            l.paragraph(&[bold("Souhaits : "), regular(quoted(&words.wishes))]);
        }
        if !words.priorities.trim().is_empty() {
            l.paragraph(&[bold("Priorités : "), regular(quoted(&words.priorities))]);
        }
    }
    project(l, &d.project);
}

fn project(l: &mut Layout<'_>, p: &ProfessionalProject) {
    l.heading("Projet professionnel");
    let before = l_state(p);
    if !p.target_jobs.is_empty() {
        l.keep_lines(2);
        l.paragraph(&[bold("Métiers visés :")]);
        for job in &p.target_jobs {
            l.bullet(&[regular(format!("{} ({})", job.title, job.code))]);
        }
    }
    let contracts: Vec<&str> = p
        .contract_types
        .iter()
        .map(|c| french::contract(*c))
        .collect();
    pair(l, "Contrats", contracts.join(", "));
    if let Some(w) = p.working_time {
        pair(l, "Temps de travail", french::working_time(w));
    }
    if let Some(km) = p.mobility_radius_km {
        pair(l, "Mobilité", format!("{km} km autour du domicile"));
    }
    if let Some(q) = p.qualification_level {
        pair(l, "Niveau de qualification", french::qualification(q));
    }
    pair(l, "Expérience", p.experience.as_str());
    pair(l, "Compétences", p.skills.as_str());
    pair(l, "Disponibilités", p.availability.as_str());
    if !before {
        l.paragraph(&[regular("Non renseigné.")]);
    }
}

/// Whether anything of the project is filled in.
fn l_state(p: &ProfessionalProject) -> bool {
    !p.target_jobs.is_empty()
        || !p.contract_types.is_empty()
        || p.working_time.is_some()
        || p.mobility_radius_km.is_some()
        || p.qualification_level.is_some()
        || !p.experience.trim().is_empty()
        || !p.skills.trim().is_empty()
        || !p.availability.trim().is_empty()
}

fn orientation(l: &mut Layout<'_>, d: &Diagnostic) {
    l.heading("Orientation");
    match d.orientation.proposal {
        Some(o) => pair(l, "Orientation décidée", french::orientation(o)),
        None => pair(l, "Orientation décidée", "pas encore décidée"),
    }
    pair(l, "Motifs", d.orientation.reasons.as_str());
    match &d.suggestion {
        Some(s) => {
            let mut text = french::orientation(s.orientation).to_string();
            if d.orientation.proposal.is_some_and(|p| p != s.orientation) {
                text.push_str(" (différente de l’orientation décidée)");
            }
            pair(l, "Suggestion de l’application", text);
            for reason in &s.reasons {
                l.bullet(&[regular(reason.as_str())]);
            }
        }
        None => pair(
            l,
            "Suggestion de l’application",
            "aucune (pas de thème évalué)",
        ),
    }
}

fn plan(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    if d.plan.is_empty() {
        l.heading("Plan d’action");
        l.paragraph(&[regular("Aucun objectif.")]);
        return;
    }
    let mut rows: Vec<Vec<Vec<Span>>> = Vec::new();
    for objective in &d.plan {
        let theme = french::theme_label(input.referentiel, &objective.theme);
        let goal = vec![
            bold(format!("{theme} : ")),
            regular(objective.label.as_str()),
        ];
        if objective.actions.is_empty() {
            rows.push(vec![
                goal.clone(),
                vec![regular("Aucune action")],
                vec![],
                vec![],
                vec![],
            ]);
        }
        for action in &objective.actions {
            rows.push(vec![
                goal.clone(),
                vec![regular(action.label.as_str())],
                vec![regular(action.who.as_str())],
                vec![regular(
                    action
                        .due_date
                        .as_deref()
                        .map_or(String::new(), french::iso_date),
                )],
                vec![regular(french::action_status(action.status))],
            ]);
        }
    }
    let table = Table {
        columns: vec![
            ("Objectif".to_string(), 0.24),
            ("Action".to_string(), 0.29),
            ("Qui".to_string(), 0.15),
            ("Échéance".to_string(), 0.19),
            ("Statut".to_string(), 0.13),
        ],
        rows,
    };
    let keep = l.table_start_height(&table);
    l.heading_keeping("Plan d’action", keep);
    l.table(&table);
}

fn consent(l: &mut Layout<'_>, d: &Diagnostic) {
    let c = &d.consent;
    l.heading("Consentement");
    pair(
        l,
        "Partage du dossier",
        match c.sharing {
            Some(true) => "accepté",
            Some(false) => "refusé (le dossier reste sur ce poste)",
            None => "non recueilli",
        },
    );
    if !c.structures.is_empty() {
        pair(l, "Structures autorisées", c.structures.join(", "));
    }
    pair(
        l,
        "Notes du travail social",
        if c.share_social_notes {
            "partagées avec les professionnels de l’emploi"
        } else {
            "réservées au travail social"
        },
    );
}

fn version(l: &mut Layout<'_>, d: &Diagnostic) {
    l.heading("Version et validation");
    let status = match (d.status, &d.finalised_at) {
        (DiagnosticStatus::Finalised, Some(at)) => format!("finalisée le {}", french::rfc3339(at)),
        (DiagnosticStatus::Finalised, None) => "finalisée".to_string(),
        (DiagnosticStatus::Draft, _) => "brouillon".to_string(),
    };
    pair(l, "Version", format!("{} – {status}", d.version));
    pair(l, "Créée le", french::rfc3339(&d.created_at));
    pair(l, "Référentiel", d.referentiel_version.as_str());
    if !d.missing.is_empty() && d.status == DiagnosticStatus::Draft {
        l.paragraph(&[bold("Manque avant validation :")]);
        for m in &d.missing {
            l.bullet(&[regular(m.as_str())]);
        }
    }
    if d.signoffs.is_empty() {
        l.subheading("Signatures");
        l.paragraph(&[regular("Aucune signature.")]);
    } else {
        let table = Table {
            columns: vec![
                ("Signataire".to_string(), 0.3),
                ("Nom".to_string(), 0.35),
                ("Date et heure".to_string(), 0.35),
            ],
            rows: d
                .signoffs
                .iter()
                .map(|s| {
                    vec![
                        vec![regular(french::signer(s.signer))],
                        vec![regular(s.name.as_str())],
                        vec![regular(french::rfc3339(&s.signed_at))],
                    ]
                })
                .collect(),
        };
        let keep = l.table_start_height(&table);
        l.subheading_keeping("Signatures", keep);
        l.table(&table);
    }
    if d.version >= 2 {
        let title = format!("Modifications depuis la version {}", d.version - 1);
        if d.changes.is_empty() {
            l.subheading(&title);
            l.paragraph(&[regular("Aucune modification enregistrée.")]);
        } else {
            let table = Table {
                columns: vec![
                    ("Date et heure".to_string(), 0.3),
                    ("Par".to_string(), 0.25),
                    ("Modification".to_string(), 0.45),
                ],
                rows: d
                    .changes
                    .iter()
                    .map(|c| {
                        vec![
                            vec![regular(french::rfc3339(&c.at))],
                            vec![regular(c.by.as_str())],
                            vec![regular(c.what.as_str())],
                        ]
                    })
                    .collect(),
            };
            let keep = l.table_start_height(&table);
            l.subheading_keeping(&title, keep);
            l.table(&table);
        }
    }
}
