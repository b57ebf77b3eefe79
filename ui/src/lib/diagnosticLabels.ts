// French words for the diagnostic's enumerations, shared by the interview screen and the person form.
import type { ActionStatus } from "../bindings/ActionStatus";
import type { ContractType } from "../bindings/ContractType";
import type { Grade } from "../bindings/Grade";
import type { NoteVisibility } from "../bindings/NoteVisibility";
import type { Orientation } from "../bindings/Orientation";
import type { QualificationLevel } from "../bindings/QualificationLevel";
import type { Role } from "../bindings/Role";
import type { Signer } from "../bindings/Signer";
import type { WorkingTime } from "../bindings/WorkingTime";
import { frenchDate } from "./format";

export const GRADE_LABELS: Record<Grade, string> = {
  not_discussed: "Non abordé",
  no_obstacle: "Pas de frein",
  obstacle_medium: "Frein moyen",
  obstacle_strong: "Frein fort",
  lifted: "Frein levé",
};
export const GRADES = Object.keys(GRADE_LABELS) as Grade[];

export const ORIENTATION_LABELS: Record<Orientation, string> = {
  professional: "Professionnelle",
  socio_professional: "Socio-professionnelle",
  social: "Sociale",
};
export const ORIENTATION_HINTS: Record<Orientation, string> = {
  professional: "Accompagnement vers l’emploi, sans frein social qui l’empêche.",
  socio_professional: "Accompagnement social et professionnel menés ensemble.",
  social: "Lever d’abord les freins sociaux avant un retour à l’emploi.",
};
export const ORIENTATIONS = Object.keys(ORIENTATION_LABELS) as Orientation[];

export const CONTRACT_LABELS: Record<ContractType, string> = {
  cdi: "Contrat à durée indéterminée (CDI)",
  cdd: "Contrat à durée déterminée (CDD)",
  interim: "Intérim",
  alternance: "Alternance (apprentissage, professionnalisation)",
  iae: "Insertion par l’activité économique (IAE)",
  creation: "Création d’entreprise",
};
export const CONTRACT_TYPES = Object.keys(CONTRACT_LABELS) as ContractType[];

export const WORKING_TIME_LABELS: Record<WorkingTime, string> = {
  full_time: "Temps plein",
  part_time: "Temps partiel",
  either: "L’un ou l’autre",
};
export const WORKING_TIMES = Object.keys(WORKING_TIME_LABELS) as WorkingTime[];

export const QUALIFICATION_LABELS: Record<QualificationLevel, string> = {
  none: "Sans diplôme",
  level3: "Niveau 3 (CAP, BEP)",
  level4: "Niveau 4 (baccalauréat)",
  level5: "Niveau 5 (bac + 2 : BTS, DUT)",
  level6: "Niveau 6 (bac + 3 : licence, BUT)",
  level7: "Niveau 7 (bac + 5 : master)",
  level8: "Niveau 8 (doctorat)",
};
export const QUALIFICATION_LEVELS = Object.keys(QUALIFICATION_LABELS) as QualificationLevel[];

export const ACTION_STATUS_LABELS: Record<ActionStatus, string> = {
  planned: "Prévue",
  in_progress: "En cours",
  done: "Réalisée",
  abandoned: "Abandonnée",
  cancelled: "Annulée",
};
export const ACTION_STATUSES = Object.keys(ACTION_STATUS_LABELS) as ActionStatus[];

export const ROLE_LABELS: Record<Role, string> = {
  social: "Travail social",
  employment: "Emploi",
};

export const VISIBILITY_LABELS: Record<NoteVisibility, string> = {
  shared: "Partagée",
  social_only: "Réservée au travail social",
};

export const SIGNER_LABELS: Record<Signer, string> = {
  person: "Nom de la personne",
  caseworker: "Nom du ou de la conseiller·e",
  co_interviewer: "Nom du ou de la co-intervenant·e",
};

/** "2026-11-26T23:30:00Z" → "27 novembre 2026": the day of an instant in the laptop's time zone. */
export function frenchDay(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return frenchDate(`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`);
}

/** "2026-11-26T13:05:00Z" → "26 novembre 2026 à 14 h 05" in the laptop's time zone. */
export function frenchDateTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return "";
  return `${frenchDay(rfc3339)} à ${d.getHours()}\u00a0h\u00a0${String(d.getMinutes()).padStart(2, "0")}`;
}

/** "version 2": the series number shown beside every diagnostic. */
export function versionLabel(version: number): string {
  return `version ${version}`;
}
