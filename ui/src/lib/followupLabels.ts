// French words for the follow-up's enumerations and the status review's flags (issue 6). The
// wording follows the domain's (crates/domain/src/followup/), which writes the exports.
import cafJson from "../../../reference/rsa-caf-reasons.json";
import type { EngagementContractKind } from "../bindings/EngagementContractKind";
import type { InterviewKind } from "../bindings/InterviewKind";
import type { ObjectiveStatus } from "../bindings/ObjectiveStatus";
import type { ReviewFlag } from "../bindings/ReviewFlag";
import type { ReviewRow } from "../bindings/ReviewRow";
import type { RsaStatus } from "../bindings/RsaStatus";
import type { TimelineEntry } from "../bindings/TimelineEntry";
import type { WorkFollowUp } from "../bindings/WorkFollowUp";
import { frenchDate } from "./format";

export const INTERVIEW_KIND_LABELS: Record<InterviewKind, string> = {
  follow_up: "Entretien de suivi",
  phone: "Entretien téléphonique",
  group: "Atelier collectif",
  joint_diagnostic: "Diagnostic partagé",
};
export const INTERVIEW_KINDS = Object.keys(INTERVIEW_KIND_LABELS) as InterviewKind[];

export const CONTRACT_KIND_LABELS: Record<EngagementContractKind, string> = {
  contrat_engagement: "Contrat d’engagement",
  cer: "Contrat d’engagement réciproque (CER)",
  ppae: "Projet personnalisé d’accès à l’emploi (PPAE)",
  cej: "Contrat d’engagement jeune (CEJ)",
  pacea: "Parcours d’accompagnement vers l’emploi et l’autonomie (PACEA)",
};
export const CONTRACT_KINDS = Object.keys(CONTRACT_KIND_LABELS) as EngagementContractKind[];

export const OBJECTIVE_STATUS_LABELS: Record<ObjectiveStatus, string> = {
  open: "En cours",
  achieved: "Atteint",
  abandoned: "Abandonné",
};

/** A CAF/MSA reason code and its label, as the CAF sends them (`CafReason` in Rust). */
export interface CafReason {
  value: string;
  label: string;
}

// The same vendored file the domain embeds (crates/domain/src/followup/caf.rs), so the codes the
// UI offers are exactly those Rust accepts.
const CAF_REASONS: Record<"suspended" | "closed", CafReason[]> = {
  suspended: cafJson.lists.rsa_suspension_reasons.items,
  closed: cafJson.lists.rsa_closure_reasons.items,
};

/** The reasons that may accompany an RSA status: none for an opening. */
export function cafReasonsFor(status: RsaStatus): CafReason[] {
  return status === "suspended" || status === "closed" ? CAF_REASONS[status] : [];
}

/** i64 days arrive as JSON numbers though ts-rs types them `bigint`. */
export function days(n: bigint | number | null | undefined): number | null {
  return n === null || n === undefined ? null : Number(n);
}

export function countDays(n: number): string {
  return n <= 1 ? `${n} jour` : `${n} jours`;
}

/** The flag in French, as `ReviewFlag::label` writes it in the exports. */
export function flagLabel(f: ReviewFlag): string {
  switch (f.kind) {
    case "no_interview":
      return f.last === null ? "Aucun entretien" : `Pas d’entretien depuis ${f.weeks} semaines ou plus`;
    case "step_overdue":
      return f.count === 1 ? "1 étape en retard" : `${f.count} étapes en retard`;
    case "status_change_without_interview":
      return `Changement de situation sans entretien depuis : ${f.label} (${frenchDate(f.date)})`;
    case "back_at_work":
      return `Retour à l’emploi le ${frenchDate(f.since)}`;
    case "work_follow_up_due":
      return `Suivi dans l’emploi à ${f.months} mois dû depuis le ${frenchDate(f.due)}`;
  }
}

/** Why a person goes on a review group's agenda, from the review's flags (`ReviewRow::agenda_reason`). */
export function agendaReason(row: ReviewRow): string {
  return row.flags.map(flagLabel).join(" ; ");
}

export function workFollowUpLabel(w: WorkFollowUp): string {
  const when =
    w.state.state === "upcoming"
      ? `prévu le ${frenchDate(w.due)}`
      : w.state.state === "due"
        ? `dû depuis le ${frenchDate(w.due)}`
        : w.state.state === "done"
          ? `fait le ${frenchDate(w.state.on)}`
          : `non fait (prévu le ${frenchDate(w.due)})`;
  return `${w.months} mois : ${when}`;
}

/** A short word for what kind of entry it is, so the timeline never relies on colour alone. */
export function timelineKindLabel(e: TimelineEntry): string {
  switch (e.kind) {
    case "diagnostic":
      return "Diagnostic";
    case "orientation":
      return "Orientation";
    case "status_change":
      return "Situation";
    case "objective_opened":
    case "objective_closed":
      return "Objectif";
    case "step":
      return "Étape";
    case "interview":
      return "Entretien";
    case "review_decision":
      return "Groupe de suivi";
  }
}
