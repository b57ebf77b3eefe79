//! The CAF/MSA reason codes of an RSA right suspended or closed, vendored in
//! `reference/rsa-caf-reasons.json` (a subset of Carnet de bord's code lists, see
//! `reference/ATTRIBUTION.md`), embedded unchanged and parsed once on first use.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::person::RsaStatus;

const JSON: &str = include_str!("../../../../reference/rsa-caf-reasons.json");

/// One CAF/MSA reason: its code as the CAF sends it and its label as the source gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CafReason {
    pub value: String,
    pub label: String,
}

#[derive(Debug)]
pub struct CafReasons {
    pub closure: Vec<CafReason>,
    pub suspension: Vec<CafReason>,
    pub attribution: String,
}

#[derive(Deserialize)]
struct File {
    source: Source,
    lists: Lists,
}

#[derive(Deserialize)]
struct Source {
    attribution: String,
}

#[derive(Deserialize)]
struct Lists {
    rsa_closure_reasons: List,
    rsa_suspension_reasons: List,
}

#[derive(Deserialize)]
struct List {
    items: Vec<CafReason>,
}

/// The reason lists this build ships.
pub fn embedded() -> &'static CafReasons {
    static REASONS: OnceLock<CafReasons> = OnceLock::new();
    REASONS.get_or_init(|| {
        // Embedded at compile time and checked by the tests below: a failure is a build defect.
        let file: File = serde_json::from_str(JSON).expect("embedded CAF reasons JSON is valid");
        CafReasons {
            closure: file.lists.rsa_closure_reasons.items,
            suspension: file.lists.rsa_suspension_reasons.items,
            attribution: file.source.attribution,
        }
    })
}

impl CafReasons {
    /// The reasons that may accompany an RSA status: closure reasons for `Closed`, suspension
    /// reasons for `Suspended`, none otherwise.
    pub fn for_status(&self, status: RsaStatus) -> &[CafReason] {
        match status {
            RsaStatus::Closed => &self.closure,
            RsaStatus::Suspended => &self.suspension,
            RsaStatus::None | RsaStatus::Open => &[],
        }
    }

    /// The label of a code valid for that status.
    pub fn label(&self, status: RsaStatus, code: &str) -> Option<&str> {
        self.for_status(status)
            .iter()
            .find(|r| r.value == code)
            .map(|r| r.label.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_match_the_source_counts_and_labels() {
        let r = embedded();
        assert_eq!(r.closure.len(), 9);
        assert_eq!(r.suspension.len(), 24);
        assert_eq!(
            r.label(RsaStatus::Closed, "caf_radie_fin_droit"),
            Some("Radié fin de droit")
        );
        // Kept verbatim, including the source's own spelling.
        assert_eq!(
            r.label(RsaStatus::Suspended, "caf_ressources_trop_elevees"),
            Some("Ressources trop élévées")
        );
        assert_eq!(r.label(RsaStatus::Suspended, "caf_radie_fin_droit"), None);
        assert!(r.for_status(RsaStatus::Open).is_empty());
        assert!(r.attribution.contains("Carnet de bord"));
    }
}
