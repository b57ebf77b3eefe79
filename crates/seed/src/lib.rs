//! Synthetic but realistic caseloads for development, tests and benchmarks. Every person here is
//! invented: names are drawn from common French names, communes are real, identifiers are random.

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tandem_domain::{fold, Person, Profile, Role, RsaStatus, DEFAULT_LOCK_AFTER_MINUTES};
use uuid::Uuid;

mod diagnostics;
mod sample_pdf;
pub mod territory;

pub use diagnostics::synthetic_diagnostics;
pub use sample_pdf::{write_sample_pdfs, SampleError};

const FIRST_NAMES: &[&str] = &[
    "Hélène",
    "Zoé",
    "Jérôme",
    "François",
    "Benoît",
    "Élodie",
    "Théo",
    "Léa",
    "Chloé",
    "Noémie",
    "Gaëlle",
    "Anaïs",
    "Loïc",
    "Maël",
    "Inès",
    "Agnès",
    "Célia",
    "Clément",
    "Aurélien",
    "Frédéric",
    "Stéphane",
    "Sébastien",
    "Valérie",
    "Mélanie",
    "Amélie",
    "Cécile",
    "Rémi",
    "André",
    "Gérard",
    "Hervé",
    "Joël",
    "Raphaël",
    "Timothée",
    "Bérénice",
    "Léonie",
    "Jean-François",
    "Marie-Hélène",
    "Anne-Sophie",
    "Pierre-Étienne",
    "Fatou",
    "Mamadou",
    "Aïcha",
    "Karim",
    "Yasmine",
    "Mohamed",
    "Nour",
    "Zébulon",
    "Lætitia",
    "Camille",
    "Lucas",
    "Emma",
    "Nathalie",
    "Julien",
    "Sophie",
    "Thomas",
    "Manon",
    "Kévin",
    "Jade",
    "Océane",
    "Ophélie",
];

const LAST_NAMES: &[&str] = &[
    "Lefèvre",
    "Müller",
    "N'Diaye",
    "Lefebvre",
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Henry",
    "Roussel",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Nguyen",
    "Boyer",
    "Lemaire",
    "Duval",
    "Joly",
    "Noël",
    "Meyer",
    "Pérez",
    "Marchand",
    "Dufour",
    "Barbier",
    "Brun",
    "Hoarau",
    "Payet",
    "Da Silva",
    "Ben Ahmed",
    "Diallo",
    "Traoré",
    "Coulibaly",
    "Benoît",
    "Lemaître",
    "Côté",
    "Château",
    "Prévost",
    "Hébert",
    "Ménard",
    "Séguin",
    "D'Almeida",
    "Le Gall",
    "Le Goff",
    "Kerbrat",
    "Lefèvre-Martin",
    "Øster",
];

/// Real communes: (name, INSEE code, a postal code of the commune).
pub const COMMUNES: &[(&str, &str, &str)] = &[
    ("Paris", "75056", "75011"),
    ("Marseille", "13055", "13003"),
    ("Lyon", "69123", "69003"),
    ("Toulouse", "31555", "31000"),
    ("Nice", "06088", "06000"),
    ("Nantes", "44109", "44000"),
    ("Strasbourg", "67482", "67000"),
    ("Montpellier", "34172", "34000"),
    ("Bordeaux", "33063", "33000"),
    ("Lille", "59350", "59000"),
    ("Rennes", "35238", "35000"),
    ("Reims", "51454", "51100"),
    ("Saint-Étienne", "42218", "42000"),
    ("Le Havre", "76351", "76600"),
    ("Toulon", "83137", "83000"),
    ("Grenoble", "38185", "38000"),
    ("Dijon", "21231", "21000"),
    ("Angers", "49007", "49000"),
    ("Nîmes", "30189", "30000"),
    ("Villeurbanne", "69266", "69100"),
    ("Vénissieux", "69259", "69200"),
    ("Vaulx-en-Velin", "69256", "69120"),
    ("Clermont-Ferrand", "63113", "63000"),
    ("Le Mans", "72181", "72000"),
    ("Aix-en-Provence", "13001", "13100"),
    ("Brest", "29019", "29200"),
    ("Tours", "37261", "37000"),
    ("Amiens", "80021", "80000"),
    ("Limoges", "87085", "87000"),
    ("Perpignan", "66136", "66000"),
    ("Metz", "57463", "57000"),
    ("Besançon", "25056", "25000"),
    ("Orléans", "45234", "45000"),
    ("Rouen", "76540", "76000"),
    ("Mulhouse", "68224", "68100"),
    ("Caen", "14118", "14000"),
    ("Nancy", "54395", "54000"),
    ("Saint-Denis", "93066", "93200"),
    ("Montreuil", "93048", "93100"),
    ("Créteil", "94028", "94000"),
    ("Roubaix", "59512", "59100"),
    ("Tourcoing", "59599", "59200"),
    ("Avignon", "84007", "84000"),
    ("Poitiers", "86194", "86000"),
    ("Pau", "64445", "64000"),
    ("La Rochelle", "17300", "17000"),
    ("Ajaccio", "2A004", "20000"),
    ("Bastia", "2B033", "20200"),
];

const STREETS: &[&str] = &[
    "rue Victor-Hugo",
    "avenue Jean-Jaurès",
    "place de la République",
    "rue des Lilas",
    "boulevard Gambetta",
    "chemin des Écoliers",
    "rue Pasteur",
    "allée des Tilleuls",
    "rue du Moulin",
    "impasse des Acacias",
    "rue de la Gare",
    "avenue du Général-de-Gaulle",
    "rue Émile-Zola",
    "quai de Saône",
    "rue Jules-Ferry",
];

const MAIL_DOMAINS: &[&str] = &[
    "exemple.fr",
    "courriel.fr",
    "laposte.net",
    "orange.fr",
    "free.fr",
    "gmail.com",
];

const CASEWORKERS: &[&str] = &[
    "Camille Roux",
    "Dominique Lefèvre",
    "Claude Benoît",
    "Sacha Müller",
];
const STRUCTURES: &[&str] = &[
    "CCAS de Villeurbanne",
    "Maison départementale des solidarités de Vénissieux",
    "France Travail Lyon Part-Dieu",
    "Mission locale de Saint-Étienne",
];

/// `n` invented persons, the same for the same `seed`. Dates are relative to `now`: birth dates
/// fall in 1960–2007, statuses started in the past, RQTH recognitions may end in the future.
pub fn synthetic_persons(n: usize, seed: u64, now: DateTime<Utc>) -> Vec<Person> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| synthetic_person(&mut rng, now)).collect()
}

/// The caseworker whose case file this is.
pub fn synthetic_profile(seed: u64) -> Profile {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_CA5E);
    Profile {
        id: random_uuid_v7(&mut rng, 1_767_600_000_000),
        caseworker_name: pick(&mut rng, CASEWORKERS).to_string(),
        structure_name: pick(&mut rng, STRUCTURES).to_string(),
        role: if rng.random_bool(0.5) {
            Role::Social
        } else {
            Role::Employment
        },
        lock_after_minutes: DEFAULT_LOCK_AFTER_MINUTES,
    }
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

fn random_uuid_v7(rng: &mut StdRng, millis: i64) -> Uuid {
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(millis).unwrap_or(0), &random)
        .into_uuid()
}

fn date_between(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + Duration::days(rng.random_range(0..=span))
}

fn digits(rng: &mut StdRng, count: usize) -> String {
    (0..count)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn synthetic_person(rng: &mut StdRng, now: DateTime<Utc>) -> Person {
    let today = now.date_naive();
    let first_name = pick(rng, FIRST_NAMES).to_string();
    let last_name = pick(rng, LAST_NAMES).to_string();
    let (commune, insee, postal_code) = *COMMUNES.choose(rng).unwrap_or(&COMMUNES[0]);

    let email = if rng.random_bool(0.75) {
        let local = format!("{}.{}", fold(&first_name), fold(&last_name)).replace(' ', "-");
        let suffix = if rng.random_bool(0.3) {
            digits(rng, 2)
        } else {
            String::new()
        };
        format!("{local}{suffix}@{}", pick(rng, MAIL_DOMAINS))
    } else {
        String::new()
    };
    let phone = if rng.random_bool(0.85) {
        let prefix = if rng.random_bool(0.6) { "06" } else { "07" };
        let d = digits(rng, 8);
        format!(
            "{prefix} {} {} {} {}",
            &d[0..2],
            &d[2..4],
            &d[4..6],
            &d[6..8]
        )
    } else {
        String::new()
    };
    let address = format!("{} {}", rng.random_range(1..180), pick(rng, STREETS));

    let rsa_status = match rng.random_range(0..100) {
        0..45 => RsaStatus::None,
        45..80 => RsaStatus::Open,
        80..90 => RsaStatus::Suspended,
        _ => RsaStatus::Closed,
    };
    let rsa_since =
        (rsa_status != RsaStatus::None).then(|| date_between(rng, date(2010, 1, 1), today));
    let job_seeker = rng.random_bool(0.5);
    let job_seeker_since = job_seeker.then(|| date_between(rng, date(2015, 1, 1), today));
    let rqth = rng.random_bool(0.1);
    let rqth_until =
        rqth.then(|| date_between(rng, today - Days::new(365), today + Days::new(5 * 365)));
    let droits_devoirs =
        matches!(rsa_status, RsaStatus::Open | RsaStatus::Suspended) && rng.random_bool(0.8);

    let created_at = now - Duration::minutes(rng.random_range(0..3 * 365 * 24 * 60));
    let updated_at =
        created_at + Duration::minutes(rng.random_range(0..=(now - created_at).num_minutes()));

    Person {
        id: random_uuid_v7(rng, created_at.timestamp_millis()),
        birth_date: Some(date_between(rng, date(1960, 1, 1), date(2007, 12, 31))),
        email,
        phone,
        address,
        postal_code: postal_code.to_string(),
        commune: commune.to_string(),
        commune_insee: insee.to_string(),
        caf_number: if rng.random_bool(0.7) {
            digits(rng, 7)
        } else {
            String::new()
        },
        france_travail_id: if job_seeker || rng.random_bool(0.2) {
            format!(
                "{}{}",
                digits(rng, 7),
                char::from(b'A' + rng.random_range(0..26u8))
            )
        } else {
            String::new()
        },
        rsa_status,
        rsa_since,
        job_seeker,
        job_seeker_since,
        rqth,
        rqth_until,
        droits_devoirs,
        qpv: rng.random_bool(0.25),
        created_at,
        updated_at,
        first_name,
        last_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::HashSet;
    use tandem_domain::PersonField;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
    }

    /// The value as the UI would send it, to run it through the domain's validation.
    fn raw(person: &Person, field: PersonField) -> String {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        use PersonField as F;
        match field {
            F::FirstName => person.first_name.clone(),
            F::LastName => person.last_name.clone(),
            F::BirthDate => date(person.birth_date),
            F::Email => person.email.clone(),
            F::Phone => person.phone.clone(),
            F::Address => person.address.clone(),
            F::PostalCode => person.postal_code.clone(),
            F::Commune => person.commune.clone(),
            F::CommuneInsee => person.commune_insee.clone(),
            F::CafNumber => person.caf_number.clone(),
            F::FranceTravailId => person.france_travail_id.clone(),
            F::RsaStatus => person.rsa_status.as_str().to_string(),
            F::RsaSince => date(person.rsa_since),
            F::JobSeeker => person.job_seeker.to_string(),
            F::JobSeekerSince => date(person.job_seeker_since),
            F::Rqth => person.rqth.to_string(),
            F::RqthUntil => date(person.rqth_until),
            F::DroitsDevoirs => person.droits_devoirs.to_string(),
            F::Qpv => person.qpv.to_string(),
        }
    }

    #[test]
    fn every_generated_value_passes_domain_validation() {
        for person in synthetic_persons(2_000, 7, now()) {
            for field in PersonField::ALL {
                let raw = raw(&person, field);
                let parsed = field.parse(&raw, now().date_naive());
                assert!(parsed.is_ok(), "{field:?} = {raw:?}: {parsed:?}");
                let mut copy = person.clone();
                copy.apply(
                    field,
                    parsed.unwrap_or(tandem_domain::FieldValue::Flag(false)),
                );
                assert_eq!(copy, person, "{field:?} = {raw:?} is stored as validated");
            }
            let born = person.birth_date.unwrap();
            assert!((date(1960, 1, 1)..=date(2007, 12, 31)).contains(&born));
            assert!(person.created_at <= person.updated_at && person.updated_at <= now());
        }
    }

    #[test]
    fn deterministic_per_seed_with_varied_accented_names() {
        let a = synthetic_persons(500, 42, now());
        assert_eq!(a, synthetic_persons(500, 42, now()));
        assert_ne!(a, synthetic_persons(500, 43, now()));
        let names: HashSet<(&str, &str)> = a
            .iter()
            .map(|p| (p.first_name.as_str(), p.last_name.as_str()))
            .collect();
        assert!(names.len() > 400, "{} distinct names", names.len());
        assert!(a
            .iter()
            .any(|p| p.first_name.contains('é') || p.last_name.contains('è')));
        let ids: HashSet<Uuid> = a.iter().map(|p| p.id).collect();
        assert_eq!(ids.len(), a.len());
        assert!(FIRST_NAMES.len() * LAST_NAMES.len() >= 300);
    }

    #[test]
    fn communes_have_well_formed_codes() {
        for (name, insee, postal) in COMMUNES {
            assert!(
                tandem_domain::validation::insee_code("commune_insee", insee).is_ok(),
                "{name}"
            );
            assert!(
                tandem_domain::validation::postal_code("postal_code", postal).is_ok(),
                "{name}"
            );
        }
        assert!(COMMUNES.len() >= 40);
    }
}
