// French wording of the sync state, shared by the indicator, its announcements and the settings.
import type { SyncStatus } from "../bindings/SyncStatus";
import { frenchNumber } from "./format";

const NBSP = "\u00a0";

const MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];

function clock(d: Date): string {
  return `${d.getHours()}${NBSP}h${NBSP}${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * « dernière synchronisation à 14 h 05 » today, « … le 25 novembre à 9 h 30 » this year,
 * « … le 25 novembre 2025 à 9 h 30 » before; in the laptop's time zone.
 */
export function lastSyncLabel(iso: string | null, now: Date = new Date()): string {
  if (!iso) return "jamais synchronisé";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  if (sameDay) return `dernière synchronisation à ${clock(d)}`;
  const day = `${d.getDate() === 1 ? "1er" : d.getDate()} ${MONTHS[d.getMonth()] ?? ""}`;
  const year = d.getFullYear() === now.getFullYear() ? "" : ` ${d.getFullYear()}`;
  return `dernière synchronisation le ${day}${year} à ${clock(d)}`;
}

function plural(n: number, one: string, many: string): string {
  return `${frenchNumber(n)} ${n > 1 ? many : one}`;
}

export function conflictsLabel(n: number): string {
  return plural(n, "conflit à résoudre", "conflits à résoudre");
}

export function pendingLabel(n: number): string {
  return plural(n, "modification à envoyer", "modifications à envoyer");
}

export function refusedLabel(n: number): string {
  return plural(n, "modification refusée par le serveur", "modifications refusées par le serveur");
}

export const STATE_LABELS: Record<SyncStatus["state"], string> = {
  not_enrolled: "Non connecté au serveur",
  offline: "Hors ligne",
  syncing: "Synchronisation…",
  up_to_date: "À jour",
  error: "Synchronisation impossible",
};

/** What a screen reader hears when the state changes (never on a mere progress tick). */
export function syncAnnouncement(s: SyncStatus): string {
  const parts: string[] = [];
  switch (s.state) {
    case "syncing":
      parts.push("Synchronisation en cours.");
      break;
    case "up_to_date":
      parts.push("Synchronisation terminée, le dossier est à jour.");
      break;
    case "offline":
      parts.push(`Hors ligne.${s.message ? ` ${s.message}` : ""}`);
      break;
    case "error":
      parts.push(`Synchronisation impossible.${s.message ? ` ${s.message}` : ""}`);
      break;
    case "not_enrolled":
      parts.push("Non connecté au serveur.");
      break;
  }
  if (s.conflicts > 0) parts.push(`${conflictsLabel(s.conflicts)}.`);
  return parts.join(" ");
}
