//! The person's summary, « Votre diagnostic et votre plan d’action », written after FALC
//! principles (« facile à lire et à comprendre »): body text at 14 pt, short sentences, one idea
//! per line, « vous », no acronym left unexplained.
//!
//! It carries no notes at all, shared or not: notes are the professionals' working text,
//! written for colleagues and not in plain language. What the person needs from them is already
//! here as the grades, the situations, the orientation and the plan. The person can still read
//! every note by asking (right of access, said in the data section), which prints the
//! professionals' summary.

use tandem_domain::diagnostic::{ActionStatus, Grade, Orientation};
use tandem_domain::Role;

use crate::french::{self, quoted, NNBSP};
use crate::layout::{bold, regular, Layout, Style, Table};
use crate::{full_name, PrintInput};

pub(crate) const TITLE: &str = "Votre diagnostic et votre plan d’action";

pub(crate) fn style() -> Style {
    Style {
        title: 24.0,
        heading: 18.0,
        subheading: 15.0,
        body: 14.0,
        leading: 20.0,
        table: 14.0,
        table_leading: 19.0,
        small: 12.0,
        chrome: 12.0,
        paragraph_gap: 5.0,
        cell_padding: 5.0,
    }
}

pub(crate) fn build(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.title(TITLE);
    l.paragraph(&[regular(format!(
        "Ce document est pour {}.",
        full_name(input.person)
    ))]);
    l.paragraph(&[regular(
        "Il dit ce que nous avons vu ensemble et ce que nous allons faire.",
    )]);

    meeting(l, input);
    themes(l, input);
    wishes(l, input);
    orientation(l, d.orientation.proposal);
    plan(l, input);

    l.heading("Votre prochain rendez-vous");
    match input.next_appointment.as_deref().map(str::trim) {
        Some(next) if !next.is_empty() => l.paragraph(&[bold(next)]),
        _ => {
            l.paragraph(&[regular("La date n’est pas encore fixée.")]);
            l.paragraph(&[regular("Nous vous appellerons pour la fixer.")]);
        }
    }

    contacts(l, input);
    data_rights(l, input);
    signatures(l, input);
}

fn field(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Social) => "Son métier : vous aider dans votre vie de tous les jours.",
        Some(Role::Employment) => "Son métier : vous aider à trouver un travail.",
        None => "Ce professionnel vous accompagne.",
    }
}

fn meeting(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.heading("Votre rendez-vous");
    match &d.date {
        Some(date) => l.paragraph(&[regular(format!(
            "Le {}, vous avez rencontré deux professionnels.",
            french::iso_date(date)
        ))]),
        None => l.paragraph(&[regular("Vous avez rencontré deux professionnels.")]),
    }
    if !d.place.trim().is_empty() {
        l.paragraph(&[regular(format!("Le lieu : {}.", d.place.trim()))]);
    }
    l.bullet(&[
        bold(d.caseworker.name.as_str()),
        regular(format!(", {}.", d.caseworker.structure.trim())),
    ]);
    l.indented(&[regular(field(Some(d.caseworker.role)))]);
    let co = &d.co_interviewer;
    if !co.name.trim().is_empty() {
        let mut spans = vec![bold(co.name.as_str())];
        if !co.structure.trim().is_empty() {
            spans.push(regular(format!(", {}", co.structure.trim())));
        }
        spans.push(regular("."));
        l.bullet(&spans);
        l.indented(&[regular(field(co.role))]);
    }
    l.paragraph(&[regular(
        "Ensemble, nous avons fait le point sur votre situation.",
    )]);
}

/// The theme as a subject for a plain sentence: « Le logement », « L’argent ».
fn theme_subject<'a>(key: &str, label: &'a str) -> std::borrow::Cow<'a, str> {
    let plain = match key {
        "logement" => "Le logement",
        "emploi" => "Le travail",
        "formation" => "La formation",
        "difficulte_administrative" => "Les papiers et les démarches",
        "difficulte_financiere" => "L’argent",
        "mobilite" => "Les déplacements",
        "sante" => "La santé",
        "contraintes_familiales" => "La famille",
        "maitrise_langue" => "Le français",
        "numerique" => "L’ordinateur et internet",
        "choisir_un_metier" => "Choisir un métier",
        "se_former" => "Se former",
        "preparer_sa_candidature" => "Préparer votre candidature",
        "trouver_un_emploi" => "Trouver un emploi",
        "creer_une_entreprise" => "Créer une entreprise",
        "s_ouvrir_a_l_international" => "Travailler à l’étranger",
        _ => return label.into(),
    };
    plain.into()
}

fn grade_sentence(grade: Grade) -> &'static str {
    match grade {
        Grade::NoObstacle => "ce n’est pas une difficulté pour vous.",
        Grade::ObstacleMedium => "c’est une difficulté pour vous en ce moment.",
        Grade::ObstacleStrong => "c’est une difficulté importante pour vous en ce moment.",
        Grade::Lifted => "c’était une difficulté. Aujourd’hui, c’est réglé.",
        Grade::NotDiscussed => "nous n’en avons pas parlé.",
    }
}

fn themes(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.heading("Ce que nous avons dit");
    let discussed: Vec<_> = d
        .themes
        .iter()
        .filter(|t| t.grade != Grade::NotDiscussed)
        .collect();
    if discussed.is_empty() {
        l.paragraph(&[regular(
            "Nous n’avons pas encore parlé des sujets de votre vie.",
        )]);
        return;
    }
    for theme in discussed {
        let label = french::theme_label(input.referentiel, &theme.theme);
        let subject = theme_subject(&theme.theme, label);
        l.subheading(label);
        l.paragraph(&[regular(format!(
            "{subject} : {}",
            grade_sentence(theme.grade)
        ))]);
        if !theme.situations.is_empty() {
            l.keep_lines(2);
            l.paragraph(&[regular("Ce que vous nous avez dit :")]);
            for situation in &theme.situations {
                l.bullet(&[regular(situation.as_str())]);
            }
        }
    }
}

fn wishes(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.heading("Ce que vous voulez");
    let words = &d.person_words;
    let mut said = false;
    if !words.wishes.trim().is_empty() {
        l.keep_lines(2);
        l.paragraph(&[regular("Vous nous avez dit :")]);
        l.indented(&[regular(quoted(&words.wishes))]);
        said = true;
    }
    if !words.priorities.trim().is_empty() {
        l.keep_lines(2);
        l.paragraph(&[regular("Ce qui compte d’abord pour vous :")]);
        l.indented(&[regular(quoted(&words.priorities))]);
        said = true;
    }
    let jobs = &d.project.target_jobs;
    if !jobs.is_empty() {
        l.keep_lines(2);
        l.paragraph(&[regular(if jobs.len() == 1 {
            "Le métier qui vous intéresse :"
        } else {
            "Les métiers qui vous intéressent :"
        })]);
        for job in jobs {
            l.bullet(&[regular(job.title.as_str())]);
        }
        said = true;
    }
    if !said {
        l.paragraph(&[regular("Nous n’avons pas encore noté ce que vous voulez.")]);
    }
}

fn orientation(l: &mut Layout<'_>, proposal: Option<Orientation>) {
    l.heading("Votre accompagnement");
    let lines: &[&str] = match proposal {
        Some(Orientation::Professional) => &[
            "Vous allez être accompagné vers l’emploi.",
            "Un conseiller vous aide à chercher un travail.",
            "Il vous propose des offres d’emploi, des formations ou des stages.",
        ],
        Some(Orientation::SocioProfessional) => &[
            "Vous allez avoir un accompagnement social et professionnel.",
            "Un professionnel vous aide à régler les difficultés de votre vie de tous les jours.",
            "En même temps, il vous aide à préparer votre retour au travail.",
        ],
        Some(Orientation::Social) => &[
            "Vous allez avoir un accompagnement social.",
            "D’abord, un professionnel vous aide à régler les difficultés de votre vie de tous les jours : logement, santé, argent, papiers.",
            "Le travail viendra ensuite, quand ce sera le bon moment pour vous.",
        ],
        None => &[
            "Votre accompagnement n’est pas encore décidé.",
            "Nous vous le dirons bientôt.",
        ],
    };
    for line in lines {
        l.paragraph(&[regular(*line)]);
    }
}

fn plan(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    let title = "Ce que nous allons faire";
    // Cancelled or abandoned actions are no longer part of what was agreed.
    let actions: Vec<_> = d
        .plan
        .iter()
        .flat_map(|o| &o.actions)
        .filter(|a| !matches!(a.status, ActionStatus::Cancelled | ActionStatus::Abandoned))
        .collect();
    if actions.is_empty() {
        l.heading(title);
        l.paragraph(&[regular("Aucune action n’est prévue pour le moment.")]);
        return;
    }
    let rows = actions
        .into_iter()
        .map(|a| {
            let when = match (a.status, &a.due_date) {
                (ActionStatus::Done, _) => "Déjà fait".to_string(),
                (_, Some(date)) => french::iso_date(date),
                (_, None) => "Pas de date".to_string(),
            };
            let who = if a.who.trim().is_empty() {
                "À définir".to_string()
            } else {
                a.who.trim().to_string()
            };
            vec![
                vec![regular(a.label.as_str())],
                vec![regular(who)],
                vec![regular(when)],
            ]
        })
        .collect();
    let table = Table {
        columns: vec![
            ("Quoi".to_string(), 0.5),
            ("Qui".to_string(), 0.25),
            ("Quand".to_string(), 0.25),
        ],
        rows,
    };
    // The heading, its introduction (two lines at most) and the table start stay together.
    let keep = l.table_start_height(&table) + 2.0 * style().leading;
    l.heading_keeping(title, keep);
    l.paragraph(&[regular(
        "Voici les actions prévues. Chaque ligne dit quoi faire, qui le fait, et quand.",
    )]);
    l.table(&table);
}

fn contact_block(l: &mut Layout<'_>, name: &str, structure: &str, contact: &str) {
    let mut spans = vec![bold(name)];
    if !structure.trim().is_empty() {
        spans.push(regular(format!(", {}", structure.trim())));
    }
    l.bullet(&spans);
    if !contact.trim().is_empty() {
        l.indented(&[regular(contact.trim())]);
    }
}

fn contacts(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.heading("Vos contacts");
    l.paragraph(&[regular(format!(
        "Vous avez une question{NNBSP}? Vous pouvez joindre :"
    ))]);
    contact_block(
        l,
        &d.caseworker.name,
        &d.caseworker.structure,
        &input.caseworker_contact,
    );
    if !d.co_interviewer.name.trim().is_empty() {
        contact_block(
            l,
            &d.co_interviewer.name,
            &d.co_interviewer.structure,
            &input.co_interviewer_contact,
        );
    }
}

fn data_rights(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    let consent = &d.consent;
    l.heading("Vos informations personnelles");
    let caseworker = d.caseworker.name.as_str();
    for line in [
        "Ce que vous nous avez dit est écrit dans votre dossier.".to_string(),
        format!("Le dossier est gardé par {caseworker}."),
        "Vous avez le droit de lire votre dossier. Demandez-le.".to_string(),
        format!("Une information est fausse{NNBSP}? Vous avez le droit de la faire corriger."),
        "Seuls les professionnels qui vous accompagnent peuvent lire votre dossier.".to_string(),
    ] {
        l.paragraph(&[regular(line)]);
    }

    l.subheading("Ce que vous avez accepté");
    match consent.sharing {
        Some(true) if !consent.structures.is_empty() => {
            l.keep_lines(2);
            l.paragraph(&[regular(
                "Vous avez accepté que votre dossier soit lu par :",
            )]);
            for structure in &consent.structures {
                l.bullet(&[regular(structure.as_str())]);
            }
        }
        Some(true) => l.paragraph(&[regular(
            "Vous avez accepté que votre dossier soit lu par les professionnels qui vous accompagnent.",
        )]),
        Some(false) => {
            l.paragraph(&[regular("Vous avez refusé que votre dossier soit partagé.")]);
            l.paragraph(&[regular(format!(
                "Votre dossier reste chez {caseworker}."
            ))]);
        }
        None => l.paragraph(&[regular(
            "Vous n’avez pas encore dit si votre dossier peut être partagé.",
        )]),
    }
    if consent.share_social_notes {
        l.paragraph(&[regular(
            "Vous avez accepté que les notes des travailleurs sociaux soient lues aussi par les conseillers emploi.",
        )]);
    } else {
        l.paragraph(&[regular(
            "Les notes des travailleurs sociaux sont lues seulement par des travailleurs sociaux.",
        )]);
    }
    l.paragraph(&[regular("Vous pouvez changer d’avis à tout moment.")]);
    l.paragraph(&[regular(
        "Ces droits viennent d’une loi : le Règlement général sur la protection des données (RGPD).",
    )]);
    l.paragraph(&[regular(format!(
        "Vous n’êtes pas d’accord{NNBSP}? Vous pouvez écrire à la Commission nationale de \
         l’informatique et des libertés (CNIL)."
    ))]);
}

fn signatures(l: &mut Layout<'_>, input: &PrintInput<'_>) {
    let d = input.diagnostic;
    l.heading("Signatures");
    l.paragraph(&[regular("Nous sommes d’accord sur ce document.")]);
    let signed = |signer| {
        d.signoffs
            .iter()
            .find(|s| s.signer == signer)
            .map(|s| format!("Accord donné le {}", french::rfc3339(&s.signed_at)))
    };
    use tandem_domain::diagnostic::Signer;
    let mut boxes = vec![(
        "Vous".to_string(),
        vec![full_name(input.person)]
            .into_iter()
            .chain(signed(Signer::Person))
            .collect::<Vec<_>>(),
    )];
    boxes.push((
        d.caseworker.name.clone(),
        signed(Signer::Caseworker).into_iter().collect(),
    ));
    if !d.co_interviewer.name.trim().is_empty() {
        boxes.push((
            d.co_interviewer.name.clone(),
            signed(Signer::CoInterviewer).into_iter().collect(),
        ));
    }
    l.signature_boxes(&boxes);
    l.small(&[regular(format!(
        "Document remis le {}.",
        french::date_time(input.generated_at)
    ))]);
}
