//! The national diagnostic référentiel, vendored in `reference/` and shipped with the app.
//!
//! The data is Carnet de bord's final référentiel (see `reference/ATTRIBUTION.md`), embedded in
//! the binary unchanged and parsed once on first use.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::diagnostic::{Referentiel, ReferentielTheme};

const JSON: &str = include_str!("../../../reference/diagnostic-referentiel.json");

#[derive(Deserialize)]
struct File {
    source: Source,
    themes: Vec<ReferentielTheme>,
}

#[derive(Deserialize)]
struct Source {
    commit: String,
    commit_date: String,
    attribution: String,
}

/// The référentiel this build ships.
pub fn embedded() -> &'static Referentiel {
    static REFERENTIEL: OnceLock<Referentiel> = OnceLock::new();
    REFERENTIEL.get_or_init(|| parse(JSON))
}

fn parse(json: &str) -> Referentiel {
    // The file is embedded at compile time and checked by the tests below, so a failure here is
    // a build defect, not a runtime condition.
    let file: File = serde_json::from_str(json).expect("embedded référentiel JSON is valid");
    Referentiel {
        version: version_label(&file.source),
        attribution: file.source.attribution,
        themes: file.themes,
    }
}

/// "cdb-<commit date>-<short commit>", e.g. "cdb-2024-02-29-e0fe721": stable for a given source.
fn version_label(source: &Source) -> String {
    let date = source
        .commit_date
        .split('T')
        .next()
        .unwrap_or(&source.commit_date);
    let commit: String = source.commit.chars().take(7).collect();
    format!("cdb-{date}-{commit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 16] = [
        "logement",
        "emploi",
        "formation",
        "difficulte_administrative",
        "difficulte_financiere",
        "mobilite",
        "sante",
        "contraintes_familiales",
        "maitrise_langue",
        "numerique",
        "choisir_un_metier",
        "se_former",
        "preparer_sa_candidature",
        "trouver_un_emploi",
        "creer_une_entreprise",
        "s_ouvrir_a_l_international",
    ];

    #[test]
    fn has_the_sixteen_themes_in_source_order() {
        let keys: Vec<&str> = embedded().themes.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, KEYS);
    }

    #[test]
    fn counts_match_the_source() {
        let r = embedded();
        let count = |f: fn(&ReferentielTheme) -> usize| r.themes.iter().map(f).sum::<usize>();
        assert_eq!(count(|t| t.situations.len()), 88);
        assert_eq!(count(|t| t.objectives.len()), 58);
        assert_eq!(count(|t| t.actions.len()), 134);
    }

    #[test]
    fn version_and_attribution_come_from_the_source() {
        let r = embedded();
        assert_eq!(r.version, "cdb-2024-02-29-e0fe721");
        // Stable: parsing again gives the same label.
        assert_eq!(parse(JSON).version, r.version);
        assert!(r.attribution.contains("Carnet de bord"));
        assert!(r.attribution.contains("Apache License 2.0"));
    }

    #[test]
    fn labels_are_exactly_as_in_the_json() {
        let raw: serde_json::Value = serde_json::from_str(JSON).unwrap();
        let raw_themes = raw["themes"].as_array().unwrap();
        let themes = &embedded().themes;
        assert_eq!(raw_themes.len(), themes.len());
        for (raw, theme) in raw_themes.iter().zip(themes) {
            assert_eq!(raw["key"], theme.key.as_str());
            assert_eq!(raw["label"], theme.label.as_str());
            for (field, items) in [
                ("situations", &theme.situations),
                ("objectives", &theme.objectives),
                ("actions", &theme.actions),
            ] {
                let expected: Vec<&str> = raw[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(&expected, items, "{} / {field}", theme.key);
            }
        }
        assert_eq!(themes[0].label, "Logement");
        // Kept verbatim, including the source's own quirks.
        assert!(themes
            .iter()
            .flat_map(|t| &t.situations)
            .any(|s| s.contains("Prêt  à suivre une formation")));
    }
}
