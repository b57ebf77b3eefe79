//! French wording shared by both summaries: dates, times, labels of the domain's enums.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use tandem_domain::diagnostic::Diagnostic;
use tandem_domain::diagnostic::{
    ActionStatus, ContractType, Grade, Interviewer, Orientation, QualificationLevel, Referentiel,
    Signer, WorkingTime,
};
use tandem_domain::Role;

/// U+202F, before « ; ! ? » and inside « … ».
pub(crate) const NNBSP: char = '\u{202F}';

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// Text between French quotation marks: « … ».
pub(crate) fn quoted(text: &str) -> String {
    format!("«{NNBSP}{}{NNBSP}»", text.trim())
}

/// « 8 décembre 2026 », « 1er mars 2027 ».
pub(crate) fn date(d: NaiveDate) -> String {
    let day = match d.day() {
        1 => "1er".to_string(),
        n => n.to_string(),
    };
    format!("{day} {} {}", MONTHS[d.month0() as usize], d.year())
}

/// An ISO date (YYYY-MM-DD) in French, or the raw text if it does not parse.
pub(crate) fn iso_date(raw: &str) -> String {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(date)
        .unwrap_or_else(|_| raw.to_string())
}

/// Metropolitan French offset from UTC: +2 h from the last Sunday of March 01:00 UTC to the
/// last Sunday of October 01:00 UTC, +1 h otherwise (EU rule since 1996).
fn paris_offset(at: DateTime<Utc>) -> Duration {
    let last_sunday = |month: u32| {
        let mut day = NaiveDate::from_ymd_opt(at.year(), month, 31).unwrap_or_default();
        while day.weekday() != Weekday::Sun {
            day = day.pred_opt().unwrap_or(day);
        }
        Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap_or_default())
    };
    if at >= last_sunday(3) && at < last_sunday(10) {
        Duration::hours(2)
    } else {
        Duration::hours(1)
    }
}

/// « 26 novembre 2026 à 10 h 30 », in Paris time.
pub(crate) fn date_time(at: DateTime<Utc>) -> String {
    let local = at.naive_utc() + paris_offset(at);
    format!(
        "{} à {} h {:02}",
        date(local.date()),
        local.hour(),
        local.minute()
    )
}

/// An RFC 3339 time in French, or the raw text if it does not parse.
pub(crate) fn rfc3339(raw: &str) -> String {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| date_time(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| raw.to_string())
}

pub(crate) fn role(role: Role) -> &'static str {
    match role {
        Role::Social => "travail social",
        Role::Employment => "emploi",
    }
}

/// « Camille Roux (travail social) ».
pub(crate) fn author(d: &Diagnostic, who: Interviewer) -> String {
    match who {
        Interviewer::Caseworker => format!("{} ({})", d.caseworker.name, role(d.caseworker.role)),
        Interviewer::CoInterviewer => {
            let name = if d.co_interviewer.name.trim().is_empty() {
                "Second professionnel"
            } else {
                d.co_interviewer.name.as_str()
            };
            match d.co_interviewer.role {
                Some(r) => format!("{name} ({})", role(r)),
                None => name.to_string(),
            }
        }
    }
}

pub(crate) fn grade(grade: Grade) -> &'static str {
    match grade {
        Grade::NotDiscussed => "Non abordé",
        Grade::NoObstacle => "Pas de frein",
        Grade::ObstacleMedium => "Frein modéré",
        Grade::ObstacleStrong => "Frein fort",
        Grade::Lifted => "Frein levé",
    }
}

pub(crate) fn orientation(o: Orientation) -> &'static str {
    match o {
        Orientation::Professional => "Professionnelle",
        Orientation::SocioProfessional => "Socioprofessionnelle",
        Orientation::Social => "Sociale",
    }
}

pub(crate) fn action_status(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::Planned => "Prévue",
        ActionStatus::InProgress => "En cours",
        ActionStatus::Done => "Réalisée",
        ActionStatus::Abandoned => "Abandonnée",
        ActionStatus::Cancelled => "Annulée",
    }
}

pub(crate) fn signer(s: Signer) -> &'static str {
    match s {
        Signer::Caseworker => "Professionnel référent",
        Signer::CoInterviewer => "Second professionnel",
        Signer::Person => "Personne accompagnée",
    }
}

pub(crate) fn contract(c: ContractType) -> &'static str {
    match c {
        ContractType::Cdi => "CDI",
        ContractType::Cdd => "CDD",
        ContractType::Interim => "Intérim",
        ContractType::Alternance => "Alternance",
        ContractType::Iae => "Insertion par l’activité économique (IAE)",
        ContractType::Creation => "Création d’entreprise",
    }
}

pub(crate) fn working_time(w: WorkingTime) -> &'static str {
    match w {
        WorkingTime::FullTime => "Temps plein",
        WorkingTime::PartTime => "Temps partiel",
        WorkingTime::Either => "Temps plein ou partiel",
    }
}

pub(crate) fn qualification(q: QualificationLevel) -> &'static str {
    match q {
        QualificationLevel::None => "Sans diplôme",
        QualificationLevel::Level3 => "Niveau 3 (CAP, BEP)",
        QualificationLevel::Level4 => "Niveau 4 (baccalauréat)",
        QualificationLevel::Level5 => "Niveau 5 (bac + 2)",
        QualificationLevel::Level6 => "Niveau 6 (licence, bac + 3)",
        QualificationLevel::Level7 => "Niveau 7 (master, bac + 5)",
        QualificationLevel::Level8 => "Niveau 8 (doctorat)",
    }
}

/// The référentiel's label for a theme key, or the key itself for an unknown theme.
pub(crate) fn theme_label<'r>(referentiel: &'r Referentiel, key: &'r str) -> &'r str {
    referentiel
        .themes
        .iter()
        .find(|t| t.key == key)
        .map_or(key, |t| t.label.as_str())
}
