//! ROME job codes and titles, searchable by any word of a title, ignoring accents and case.
//!
//! The data is the vendored `reference/rome-codes.json` (Carnet de bord's `rome_code` table, ROME
//! v3, see `reference/ATTRIBUTION.md`): 531 codes and their 10,876 job titles ("appellations").
//! That source carries no fiche titles (the label of a code such as "K2204"), so [`RomeIndex::label`]
//! gives an empty label for a known code unless the file provides one in an optional `label` field.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::diagnostic::RomeMatch;
use crate::fold::fold;

const JSON: &str = include_str!("../../../reference/rome-codes.json");

#[derive(Deserialize)]
struct File {
    codes: Vec<RawCode>,
}

#[derive(Deserialize)]
struct RawCode {
    code: String,
    /// Not in the current source; read if a later file adds it.
    #[serde(default)]
    label: Option<String>,
    appellations: Vec<String>,
}

struct Code {
    code: String,
    label: String,
    /// Indexes into `RomeIndex::titles`, in source order.
    titles: std::ops::Range<usize>,
}

struct Title {
    text: String,
    /// Index into `RomeIndex::codes`.
    code: usize,
    /// Folded words joined by single spaces: "aide soignant aide soignante".
    folded: String,
    /// Byte offsets in `folded` where each word starts.
    starts: Vec<usize>,
    /// Position in the (shorter first, then alphabetical) order, used to rank matches.
    rank: u32,
}

/// The ROME codes and their job titles, loaded once.
pub struct RomeIndex {
    /// Sorted by code.
    codes: Vec<Code>,
    titles: Vec<Title>,
}

impl std::fmt::Debug for RomeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RomeIndex")
            .field("codes", &self.codes.len())
            .field("titles", &self.titles.len())
            .finish()
    }
}

impl RomeIndex {
    /// The index of the vendored `reference/rome-codes.json`.
    pub fn embedded() -> &'static RomeIndex {
        static INDEX: OnceLock<RomeIndex> = OnceLock::new();
        INDEX.get_or_init(|| {
            // Embedded at compile time and checked by the tests: a failure is a build defect.
            let file: File = serde_json::from_str(JSON).expect("embedded ROME JSON is valid");
            RomeIndex::build(file.codes)
        })
    }

    fn build(mut raw: Vec<RawCode>) -> RomeIndex {
        raw.sort_by(|a, b| a.code.cmp(&b.code));
        let mut codes = Vec::with_capacity(raw.len());
        let mut titles = Vec::new();
        for raw_code in raw {
            let first = titles.len();
            for text in raw_code.appellations {
                let (folded, starts) = fold_words(&text);
                titles.push(Title {
                    text,
                    code: codes.len(),
                    folded,
                    starts,
                    rank: 0,
                });
            }
            codes.push(Code {
                code: raw_code.code.trim().to_ascii_uppercase(),
                label: raw_code.label.unwrap_or_default(),
                titles: first..titles.len(),
            });
        }
        let mut order: Vec<usize> = (0..titles.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&titles[a], &titles[b]);
            (a.text.chars().count(), &a.folded, &a.text).cmp(&(
                b.text.chars().count(),
                &b.folded,
                &b.text,
            ))
        });
        for (rank, i) in order.into_iter().enumerate() {
            titles[i].rank = rank as u32;
        }
        RomeIndex { codes, titles }
    }

    /// Number of codes in the index.
    pub fn code_count(&self) -> usize {
        self.codes.len()
    }

    fn find_code(&self, code: &str) -> Option<&Code> {
        let code = code.trim().to_ascii_uppercase();
        self.codes
            .binary_search_by(|c| c.code.as_str().cmp(&code))
            .ok()
            .map(|i| &self.codes[i])
    }

    /// The label of a known code ("K2204", case-insensitive), `None` for an unknown code.
    ///
    /// The vendored source has no fiche titles, so the label is empty for every code today; it is
    /// filled only if the JSON carries a `label` for the code.
    pub fn label(&self, code: &str) -> Option<&str> {
        self.find_code(code).map(|c| c.label.as_str())
    }

    /// Whether `title` is one of the job titles of `code` (exact text, as the search returns it).
    pub fn has_title(&self, code: &str, title: &str) -> bool {
        self.find_code(code).is_some_and(|c| {
            self.titles[c.titles.clone()]
                .iter()
                .any(|t| t.text == title)
        })
    }

    /// Job titles matching `query`, best first, at most `limit`.
    ///
    /// A query that is a known ROME code ("K2204", any case) gives that code's titles in source
    /// order. Otherwise every word of the folded query must be the start of some word of the
    /// folded title ("plomb" finds "Plombier", "aide soignant" finds "Aide-soignant /
    /// Aide-soignante"). Titles whose first word matches come first, then shorter titles, then
    /// alphabetical order; identical titles appear once. An empty query gives nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<RomeMatch> {
        if limit == 0 {
            return Vec::new();
        }
        if looks_like_code(query) {
            if let Some(code) = self.find_code(query) {
                return self.collect(code.titles.clone(), limit);
            }
        }
        let (folded_query, query_starts) = fold_words(query);
        if query_starts.is_empty() {
            return Vec::new();
        }
        let words: Vec<&str> = word_slices(&folded_query, &query_starts).collect();

        // (first word does not match, rank, index): sorts best first.
        let mut hits: Vec<(bool, u32, usize)> = Vec::new();
        for (i, title) in self.titles.iter().enumerate() {
            let mut first_word = false;
            let all = words.iter().all(|w| {
                let mut found = false;
                for &s in &title.starts {
                    if title.folded[s..].starts_with(w) {
                        found = true;
                        if s == 0 {
                            first_word = true;
                        }
                        break;
                    }
                }
                found
            });
            if all {
                hits.push((!first_word, title.rank, i));
            }
        }
        hits.sort_unstable();
        self.collect(hits.into_iter().map(|(_, _, i)| i), limit)
    }

    fn collect(&self, indexes: impl Iterator<Item = usize>, limit: usize) -> Vec<RomeMatch> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        for i in indexes {
            let title = &self.titles[i];
            if !seen.insert(title.text.as_str()) {
                continue;
            }
            let code = &self.codes[title.code];
            out.push(RomeMatch {
                code: code.code.clone(),
                code_label: code.label.clone(),
                title: title.text.clone(),
            });
            if out.len() >= limit {
                break;
            }
        }
        out
    }
}

/// "K2204", "k2204 ": one ASCII letter and four digits.
fn looks_like_code(query: &str) -> bool {
    let b = query.trim().as_bytes();
    b.len() == 5 && b[0].is_ascii_alphabetic() && b[1..].iter().all(u8::is_ascii_digit)
}

/// Folds `text` and splits it into alphanumeric words, returned joined by single spaces along
/// with each word's byte offset.
fn fold_words(text: &str) -> (String, Vec<usize>) {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len());
    let mut starts = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        starts.push(out.len());
        out.push_str(word);
    }
    (out, starts)
}

fn word_slices<'a>(joined: &'a str, starts: &'a [usize]) -> impl Iterator<Item = &'a str> {
    starts.iter().map(move |&s| {
        let rest = &joined[s..];
        rest.split(' ').next().unwrap_or(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> &'static RomeIndex {
        RomeIndex::embedded()
    }

    fn titles(query: &str, limit: usize) -> Vec<String> {
        index()
            .search(query, limit)
            .into_iter()
            .map(|m| m.title)
            .collect()
    }

    #[test]
    fn loads_all_codes_and_titles() {
        assert_eq!(index().code_count(), 531);
        assert_eq!(index().titles.len(), 10_876);
    }

    #[test]
    fn label_matches_the_json() {
        let raw: serde_json::Value = serde_json::from_str(JSON).unwrap();
        let k2204 = raw["codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "K2204")
            .unwrap();
        let expected = k2204["label"].as_str().unwrap_or("");
        assert_eq!(index().label("K2204"), Some(expected));
        assert_eq!(index().label(" k2204 "), Some(expected));
        assert_eq!(index().label("Z9999"), None);
        assert_eq!(index().label(""), None);
        // Every code of the file is known.
        for c in raw["codes"].as_array().unwrap() {
            assert!(index().label(c["code"].as_str().unwrap()).is_some());
        }
    }

    #[test]
    fn folds_accents_and_case() {
        let found = titles("educateur", 50);
        assert!(!found.is_empty());
        // The source writes both "Educateur" and "éducateur".
        assert!(
            found.iter().any(|t| t.starts_with("Educateur")),
            "{found:?}"
        );
        assert!(found.iter().any(|t| t.contains("éducateur")), "{found:?}");
        assert!(found
            .iter()
            .all(|t| fold(t).split(' ').any(|w| w.starts_with("educateur"))));
        assert_eq!(titles("ÉDUCATEUR", 50), found);
        assert_eq!(titles("éducateur", 50), found);
        // Capital accented initials fold too.
        assert_eq!(
            titles("economiste chercheur", 5),
            ["Économiste chercheur / chercheuse"]
        );
        assert_eq!(titles("EPIGRAPH", 5), ["Épigraphiste"]);
    }

    #[test]
    fn prefix_of_any_word() {
        let found = titles("plomb", 100);
        assert!(found.iter().any(|t| t.starts_with("Plombier")), "{found:?}");
        // A title whose first word matches comes before one where a later word matches.
        let first_later = found.iter().position(|t| !fold(t).starts_with("plomb"));
        let last_first = found.iter().rposition(|t| fold(t).starts_with("plomb"));
        if let (Some(later), Some(first)) = (first_later, last_first) {
            assert!(first < later, "{found:?}");
        }
    }

    #[test]
    fn multi_word() {
        let found = index().search("aide soignant", 20);
        assert!(found
            .iter()
            .any(|m| m.title == "Aide-soignant / Aide-soignante"));
        for m in &found {
            let f = fold(&m.title);
            assert!(f.split(' ').any(|w| w.starts_with("aide")), "{}", m.title);
            assert!(
                f.split(' ').any(|w| w.starts_with("soignant")),
                "{}",
                m.title
            );
        }
        // Word order in the query does not matter.
        assert_eq!(
            titles("soignant aide", 20).len(),
            titles("aide soignant", 20).len()
        );
    }

    #[test]
    fn ranking_is_first_word_then_shorter_then_alphabetical() {
        let found = titles("agent", usize::MAX);
        assert!(found.len() > 10);
        let keys: Vec<(bool, usize, String)> = found
            .iter()
            .map(|t| {
                let f = fold(t);
                (!f.starts_with("agent"), t.chars().count(), f)
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn code_query_returns_the_code_titles() {
        let raw: serde_json::Value = serde_json::from_str(JSON).unwrap();
        let expected: Vec<String> = raw["codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "K2204")
            .unwrap()["appellations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let found = index().search("k2204", 1000);
        assert!(found.iter().all(|m| m.code == "K2204"));
        let found: Vec<String> = found.into_iter().map(|m| m.title).collect();
        assert_eq!(found, expected);
        assert_eq!(titles(" K2204 ", 3), expected[..3]);
    }

    #[test]
    fn limit_is_respected_and_titles_are_unique() {
        assert_eq!(index().search("a", 7).len(), 7);
        assert!(index().search("a", 0).is_empty());
        let all = titles("a", usize::MAX);
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn odd_input_does_not_panic() {
        let long = "é".repeat(1000);
        let mixed = "aide ".repeat(200);
        for q in ["", "   ", "%%%", "'-/", "K", "K22", "Z9999", &long, &mixed] {
            let found = index().search(q, 10);
            assert!(found.len() <= 10);
        }
        assert!(index().search("", 10).is_empty());
        assert!(index().search("   ", 10).is_empty());
        assert!(index().search("%%%", 10).is_empty());
        assert!(index().search(&"x".repeat(1000), 10).is_empty());
        assert_eq!(index().search(&mixed, 5).len(), 5);
    }

    #[test]
    fn search_is_fast() {
        let idx = index();
        let queries = [
            "a",
            "agent",
            "aide soignant",
            "educ",
            "conducteur engins",
            "zzz",
        ];
        let rounds = 20;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for q in queries {
                std::hint::black_box(idx.search(q, 20));
            }
        }
        let per_search = start.elapsed() / (rounds * queries.len() as u32);
        eprintln!(
            "ROME search: {per_search:?} per search over {} titles",
            idx.titles.len()
        );
        // Generous bound so debug builds pass too; release builds are far below it.
        assert!(
            per_search < std::time::Duration::from_millis(50),
            "{per_search:?}"
        );
    }
}
