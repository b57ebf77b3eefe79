//! Both summaries, read back with poppler-utils and checked with qpdf.

mod common;

use common::*;
use tandem_domain::diagnostic::{Diagnostic, Interviewer, NoteVisibility};
use tandem_domain::Role;
use tandem_print::{render_person_summary, render_professional_summary, PrintError};
use uuid::Uuid;

const PAGE_WIDTH: f64 = 595.276;
const PAGE_HEIGHT: f64 = 841.89;
const MARGIN: f64 = 56.693;

/// Whitespace collapsed to single spaces, so a check does not depend on where lines break.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_contains(text: &str, expected: &str) {
    let (text, expected) = (flat(text), flat(expected));
    assert!(
        text.contains(&expected),
        "missing « {expected} » in:\n{text}"
    );
}

fn person_pdf(d: &Diagnostic, reader: Role) -> Pdf {
    let p = person();
    let bytes = render_person_summary(&input(d, &p, reader)).unwrap();
    Pdf::new(&bytes)
}

fn professional_pdf(d: &Diagnostic, reader: Role) -> Pdf {
    let p = person();
    let bytes = render_professional_summary(&input(d, &p, reader)).unwrap();
    Pdf::new(&bytes)
}

/// Every page says « Page n/N » with the right N, and the header names the person.
fn assert_pages_numbered(pdf: &Pdf) -> usize {
    let total = pdf.pages();
    for page in 1..=total {
        let text = pdf.page_text(page);
        assert!(
            text.contains(&format!("Page {page}/{total}")),
            "page {page} of {total} lacks its number:\n{text}"
        );
        assert!(
            text.contains("Hélène Lefèvre"),
            "page {page} lacks the header"
        );
    }
    total
}

/// Every font is embedded (`pdffonts` column « emb » is « yes »).
fn assert_fonts_embedded(pdf: &Pdf) {
    let listing = pdf.fonts();
    let rows: Vec<&str> = listing
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len(), 2, "regular and bold, nothing else:\n{listing}");
    for row in rows {
        let fields: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(fields[fields.len() - 5], "yes", "not embedded: {row}");
        assert!(row.contains("AtkinsonHyperlegibleNext"), "{row}");
    }
}

fn assert_qpdf_ok(pdf: &Pdf) {
    let (ok, output) = pdf.qpdf_check();
    assert!(ok, "qpdf --check failed:\n{output}");
    assert!(!output.contains("WARNING"), "qpdf warns:\n{output}");
}

/// Every word lies inside the 20 mm margins: nothing is clipped or runs off the page.
fn assert_inside_margins(pdf: &Pdf) {
    let html = run("pdftotext", &["-bbox", pdf.path.to_str().unwrap(), "-"]);
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + tag[start..].find('"').unwrap();
        tag[start..end].parse().unwrap()
    };
    let mut words = 0;
    for tag in html.split("<word ").skip(1) {
        words += 1;
        let (x0, x1) = (attr(tag, "xMin"), attr(tag, "xMax"));
        let (y0, y1) = (attr(tag, "yMin"), attr(tag, "yMax"));
        let word = &tag[tag.find('>').unwrap() + 1..tag.find("</word>").unwrap()];
        assert!(
            x0 >= MARGIN - 0.5 && x1 <= PAGE_WIDTH - MARGIN + 0.5,
            "« {word} » overflows horizontally: {x0}–{x1}"
        );
        assert!(
            y0 >= MARGIN - 6.0 && y1 <= PAGE_HEIGHT - MARGIN + 6.0,
            "« {word} » overflows vertically: {y0}–{y1}"
        );
    }
    assert!(words > 50);
}

#[test]
fn person_summary_reads_back_in_plain_french() {
    let d = full();
    let pdf = person_pdf(&d, Role::Social);
    let text = pdf.text();
    for expected in [
        "Votre diagnostic et votre plan d’action",
        "Ce document est pour Hélène Lefèvre.",
        "Le 26 novembre 2026, vous avez rencontré deux professionnels.",
        "Camille Roux, CCAS de Villeurbanne.",
        "Karim Benali, France Travail Lyon Part-Dieu.",
        "Son métier : vous aider à trouver un travail.",
        "Le logement : c’est une difficulté importante pour vous en ce moment.",
        "Les déplacements : c’est une difficulté importante pour vous en ce moment.",
        "La santé : ce n’est pas une difficulté pour vous.",
        "L’ordinateur et internet : c’était une difficulté. Aujourd’hui, c’est réglé.",
        "«\u{202F}Travailler dans la restauration, ça me plaît, j’ai déjà de l’expérience.\u{202F}»",
        "«\u{202F}Le logement d’abord ; ma sœur peut garder mon fils le mercredi.\u{202F}»",
        "Commis / Commise de cuisine",
        "Vous allez avoir un accompagnement social et professionnel.",
        "En même temps, il vous aide à préparer votre retour au travail.",
        "Quoi Qui Quand",
        "Déposer une demande de logement social",
        "Déjà fait",
        "(dépôt de garantie : 450 €)",
        "15 décembre 2026",
        "1er janvier 2027",
        "Pôle mobilité",
        "Pas de date",
        "Mardi 8 décembre 2026 à 10 h, CCAS de Villeurbanne",
        "04 78 00 00 01 – camille.roux@ccas-villeurbanne.fr",
        "04 72 00 00 02 – karim.benali@francetravail.fr",
        "Vous avez le droit de lire votre dossier.",
        "Vous avez le droit de la faire corriger.",
        "Seuls les professionnels qui vous accompagnent peuvent lire votre dossier.",
        "Vous avez accepté que votre dossier soit lu par :",
        "France Travail Lyon Part-Dieu",
        "Les notes des travailleurs sociaux sont lues seulement par des travailleurs sociaux.",
        "Commission nationale de l’informatique et des libertés (CNIL)",
        "Signatures",
        "Accord donné le 3 décembre 2026 à 10 h 30",
        "Document remis le 26 novembre 2026 à 11 h 30.",
    ] {
        assert_contains(&text, expected);
    }
    // The letters the brief names, each somewhere in the text.
    for ch in ['é', 'è', 'ê', 'à', 'ç', 'ô', 'œ', '«', '»', '’', '€'] {
        assert!(text.contains(ch), "{ch} not found");
    }
    // pdftotext turns the narrow no-break space into a plain space; the font's /ToUnicode
    // map shows the PDF carries U+202F itself.
    let qdf = pdf.path.with_extension("qdf.pdf");
    run(
        "qpdf",
        &[
            "--qdf",
            "--object-streams=disable",
            pdf.path.to_str().unwrap(),
            qdf.to_str().unwrap(),
        ],
    );
    let uncompressed = String::from_utf8_lossy(&std::fs::read(&qdf).unwrap()).into_owned();
    assert!(uncompressed.contains("<202F>"), "no U+202F in /ToUnicode");
    // Themes not discussed are not listed.
    assert!(!text.contains("Créer une entreprise"));
    assert_pages_numbered(&pdf);
    assert_fonts_embedded(&pdf);
    assert_qpdf_ok(&pdf);
    assert_inside_margins(&pdf);
}

#[test]
fn person_summary_has_no_notes_at_all() {
    let d = full();
    for reader in [Role::Social, Role::Employment] {
        let text = flat(&person_pdf(&d, reader).text());
        for note in &d.notes {
            assert!(
                !text.contains(&flat(&note.text)),
                "note printed: {}",
                note.text
            );
        }
        assert!(!text.contains("Violences"));
    }
    // Not even when the person agreed to share social notes.
    let mut shared = d.clone();
    shared.consent.share_social_notes = true;
    let text = flat(&person_pdf(&shared, Role::Social).text());
    assert!(!text.contains(&flat(SOCIAL_SECRET)));
    assert!(text.contains("Vous avez accepté que les notes des travailleurs sociaux soient lues aussi par les conseillers emploi."));
}

#[test]
fn professional_summary_shows_the_whole_diagnostic_with_authors() {
    let d = full();
    let pdf = professional_pdf(&d, Role::Social);
    let text = pdf.text();
    for expected in [
        "Diagnostic partagé – synthèse pour les professionnels",
        "Personne : Hélène Lefèvre, née ou né le 14 juillet 2001",
        "Professionnel référent : Camille Roux (travail social), CCAS de Villeurbanne",
        "Second professionnel : Karim Benali (emploi), France Travail Lyon Part-Dieu",
        "Logement – Frein fort",
        "Mobilité – Frein fort",
        "Santé – Pas de frein",
        "Numérique – Frein levé",
        "Camille Roux (travail social) – 26 novembre 2026 à 10 h 30",
        SHARED_NOTE,
        SOCIAL_SECRET,
        "réservée au travail social",
        "Karim Benali (emploi)",
        "Très motivée, ponctuelle, a apporté son CV à jour.",
        "Souhaits : «\u{202F}Travailler dans la restauration",
        "Commis / Commise de cuisine (G1602)",
        "Contrats : CDI, Insertion par l’activité économique (IAE)",
        "Temps de travail : Temps plein",
        "Mobilité : 15 km autour du domicile",
        "Niveau de qualification : Niveau 3 (CAP, BEP)",
        "Orientation décidée : Socioprofessionnelle",
        "Motifs : Le logement passe d’abord ; le projet en restauration est solide.",
        "Suggestion de l’application :",
        "Objectif Action Qui Échéance Statut",
        "Réalisée",
        "Prévue",
        "8 décembre 2026",
        "Partage du dossier : accepté",
        "Structures autorisées : CCAS de Villeurbanne, France Travail Lyon Part-Dieu",
        "Notes du travail social : réservées au travail social",
        "Version : 2 – finalisée le 3 décembre 2026 à 10 h 50",
        "Professionnel référent Camille Roux",
        "Personne accompagnée Hélène Lefèvre",
        "Modifications depuis la version 1",
    ] {
        assert_contains(&text, expected);
    }
    assert!(!text.contains("non affichée"));
    assert_pages_numbered(&pdf);
    assert_fonts_embedded(&pdf);
    assert_qpdf_ok(&pdf);
    assert_inside_margins(&pdf);
}

#[test]
fn social_notes_are_withheld_from_an_employment_reader_without_consent() {
    let d = full();
    assert!(!d.consent.share_social_notes);
    let text = flat(&professional_pdf(&d, Role::Employment).text());
    assert!(
        !text.contains(&flat(SOCIAL_SECRET)),
        "social-only note shown"
    );
    assert!(!text.contains("Violences"));
    assert!(text.contains(&flat(SHARED_NOTE)));
    assert!(text.contains("1 note(s) réservée(s) au travail social non affichée(s)"));

    // With the person's consent, the employment reader sees it.
    let mut shared = d.clone();
    shared.consent.share_social_notes = true;
    let text = flat(&professional_pdf(&shared, Role::Employment).text());
    assert!(text.contains(&flat(SOCIAL_SECRET)));
    assert!(!text.contains("non affichée"));
}

#[test]
fn a_diagnostic_with_only_the_required_fields_prints() {
    let d = minimal();
    let person = person_pdf(&d, Role::Social);
    let text = person.text();
    for expected in [
        "Nous n’avons pas encore parlé des sujets de votre vie.",
        "Nous n’avons pas encore noté ce que vous voulez.",
        "Votre accompagnement n’est pas encore décidé.",
        "Aucune action n’est prévue pour le moment.",
        "Vous n’avez pas encore dit si votre dossier peut être partagé.",
    ] {
        assert_contains(&text, expected);
    }
    assert_pages_numbered(&person);
    assert_qpdf_ok(&person);
    let pro = professional_pdf(&d, Role::Employment);
    let text = pro.text();
    for expected in [
        "Aucun thème n’a été évalué.",
        "Orientation décidée : pas encore décidée",
        "Aucun objectif.",
        "Partage du dossier : non recueilli",
        "Version : 1 – brouillon",
        "Aucune signature.",
    ] {
        assert_contains(&text, expected);
    }
    assert_pages_numbered(&pro);
    assert_qpdf_ok(&pro);

    let mut undated = minimal();
    undated.date = None;
    let pdf = person_pdf(&undated, Role::Social);
    assert_contains(&pdf.text(), "Date d’entretien non renseignée");
    assert_qpdf_ok(&pdf);
}

/// A 60-letter word for a table cell.
fn cell_word() -> String {
    "intergouvernementalisation"
        .repeat(3)
        .chars()
        .take(60)
        .collect()
}

/// A 5,000-character note with a 60-letter word, and 40 actions.
fn overflowing() -> (Diagnostic, String, String) {
    let long_word: String = "anticonstitutionnellement"
        .repeat(3)
        .chars()
        .take(60)
        .collect();
    let mut note = String::new();
    let mut i = 0;
    while note.chars().count() < 5000 {
        note.push_str(
            [
                "logement ",
                "démarches ",
                "hébergée ",
                "sœur ",
                "à ",
                "Vénissieux ",
            ][i % 6],
        );
        if i == 300 {
            note.push_str(&long_word);
            note.push(' ');
        }
        i += 1;
    }
    let note: String = note.chars().take(5000).collect();
    let mut d = with_actions(full(), 40);
    d.notes.push(tandem_domain::diagnostic::Note {
        id: Uuid::from_u128(500),
        theme: Some("logement".into()),
        author: Interviewer::CoInterviewer,
        visibility: NoteVisibility::Shared,
        text: note.clone(),
        created_at: "2026-11-26T09:45:00Z".into(),
        updated_at: "2026-11-26T09:45:00Z".into(),
    });
    d.person_words.wishes = format!("Je voudrais {long_word} travailler.");
    d.plan[0].actions[1].label = format!("Action {}", cell_word());
    (d, note, long_word)
}

/// The text of every page without the running header and footer, which would otherwise
/// interrupt a text that crosses a page break.
fn body_text(pdf: &Pdf) -> String {
    let total = pdf.pages();
    (1..=total)
        .map(|page| {
            let n = page.to_string();
            run(
                "pdftotext",
                &["-f", &n, "-l", &n, pdf.path.to_str().unwrap(), "-"],
            )
            .lines()
            .filter(|l| {
                !(l.starts_with("Hélène Lefèvre")
                    || l.starts_with("Entretien du")
                    || l.starts_with("Page ")
                    || l.starts_with("Diagnostic partagé – synthèse")
                    || l.starts_with("Votre diagnostic et votre plan"))
            })
            .collect::<Vec<_>>()
            .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn no_space(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn long_texts_and_long_tables_break_across_pages() {
    let (d, note, long_word) = overflowing();

    let pro = professional_pdf(&d, Role::Employment);
    write_for_inspection(
        "overflow-professional.pdf",
        &std::fs::read(&pro.path).unwrap(),
    );
    let total = assert_pages_numbered(&pro);
    assert!(total >= 4, "{total} pages");
    let text = pro.text();
    assert!(
        no_space(&body_text(&pro)).contains(&no_space(&note)),
        "the long note is cut"
    );
    // In a table cell the long word is broken, not clipped: all its letters are there, over
    // several lines.
    let cell_word = cell_word();
    assert!(
        !text.contains(&cell_word),
        "a 60-letter word cannot fit a cell"
    );
    assert!(
        no_space(&text).contains(&cell_word),
        "the long word lost letters"
    );
    let mut rows_seen = 0;
    for page in 1..=total {
        let page_text = pro.page_text(page);
        let rows = page_text.matches("Action numéro").count();
        if rows > 0 {
            assert!(
                page_text.contains("Échéance"),
                "page {page}: rows without the header"
            );
        }
        rows_seen += rows;
    }
    assert_eq!(rows_seen, 40);
    for n in 1..=40 {
        // Cells of one row come out column by column, so only the first words are checked.
        assert_contains(&text, &format!("Action numéro {n} :"));
    }
    assert_fonts_embedded(&pro);
    assert_qpdf_ok(&pro);
    assert_inside_margins(&pro);

    let person = person_pdf(&d, Role::Social);
    let total = assert_pages_numbered(&person);
    let mut rows_seen = 0;
    let mut table_pages = 0;
    for page in 1..=total {
        let page_text = person.page_text(page);
        let rows = page_text.matches("Action numéro").count();
        if rows > 0 {
            table_pages += 1;
            assert!(
                flat(&page_text).contains("Quoi Qui Quand"),
                "page {page}: rows without the header"
            );
        }
        rows_seen += rows;
    }
    assert_eq!(rows_seen, 40);
    assert!(table_pages >= 2, "40 actions fit one page?");
    assert!(no_space(&person.text()).contains(&no_space(&long_word)));
    assert_qpdf_ok(&person);
    assert_inside_margins(&person);
}

#[test]
fn a_table_row_taller_than_a_page_is_split() {
    let mut d = with_actions(minimal(), 1);
    let label = "étape ".repeat(900);
    d.plan[0].actions[0].label = label.clone();
    let pdf = person_pdf(&d, Role::Social);
    assert!(pdf.pages() >= 3);
    assert_pages_numbered(&pdf);
    assert_eq!(
        pdf.text().matches("étape").count(),
        900,
        "lines lost in the split"
    );
    let _ = label;
    assert_inside_margins(&pdf);
    assert_qpdf_ok(&pdf);
}

#[test]
fn renders_are_byte_identical_for_the_same_input() {
    let d = full();
    let p = person();
    let a = render_person_summary(&input(&d, &p, Role::Social)).unwrap();
    // Another render in between moves printpdf's internal counter.
    let other = render_professional_summary(&input(&d, &p, Role::Social)).unwrap();
    let b = render_person_summary(&input(&d, &p, Role::Social)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, other);
    assert_eq!(
        other,
        render_professional_summary(&input(&d, &p, Role::Social)).unwrap()
    );
    write_for_inspection("person.pdf", &a);
    write_for_inspection("professional.pdf", &other);

    // The dates come from the input.
    let mut later = input(&d, &p, Role::Social);
    later.generated_at += chrono::Duration::days(1);
    let c = render_person_summary(&later).unwrap();
    assert_ne!(a, c);
    let info = run("pdfinfo", &[Pdf::new(&a).path.to_str().unwrap()]);
    assert!(info.contains("2026"), "{info}");
    let pdf = Pdf::new(&a);
    let info = run("pdfinfo", &[pdf.path.to_str().unwrap()]);
    let creation = info
        .lines()
        .find(|l| l.starts_with("CreationDate:"))
        .unwrap();
    assert!(
        creation.contains("Nov 26") && creation.contains("2026"),
        "{creation}"
    );
}

#[test]
fn a_diagnostic_of_another_person_is_refused() {
    let d = minimal();
    let mut p = person();
    p.id = Uuid::from_u128(99);
    let err = render_person_summary(&input(&d, &p, Role::Social)).unwrap_err();
    assert!(matches!(err, PrintError::PersonMismatch { .. }), "{err}");
}

#[test]
fn text_the_font_cannot_draw_is_cleaned() {
    let mut d = minimal();
    // Text from an older version or another tool may hold what the screen refuses today.
    d.person_words.wishes = "Un travail\tà mi-temps\u{7}, près de chez moi 🙂".into();
    let text = person_pdf(&d, Role::Social).text();
    // Tabs become spaces, control characters go, a character the font lacks prints as « ? ».
    assert_contains(&text, "Un travail à mi-temps, près de chez moi ?");
}
