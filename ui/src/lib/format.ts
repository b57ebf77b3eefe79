// French presentation of dates, numbers and punctuation.
import type { RsaStatus } from "../bindings/RsaStatus";

const NNBSP = "\u202f";

/** Writes French spacing: the space typed before « : ; ! ? » and inside « guillemets » becomes a narrow no-break space. */
export function fr(text: string): string {
  return text.replace(/[ \u00a0]([:;!?»])/g, `${NNBSP}$1`).replace(/«[ \u00a0]/g, `«${NNBSP}`);
}

const MONTHS = [
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

interface Ymd {
  year: number;
  month: number;
  day: number;
}

export function parseIsoDate(iso: string | null | undefined): Ymd | null {
  if (!iso) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return null;
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** "1985-07-14" → "14 juillet 1985" ("1er" for the first of the month). */
export function frenchDate(iso: string | null | undefined): string {
  const d = parseIsoDate(iso);
  if (!d) return "";
  const day = d.day === 1 ? "1er" : String(d.day);
  return `${day} ${MONTHS[d.month - 1] ?? ""} ${d.year}`;
}

export function todayYmd(now: Date = new Date()): Ymd {
  return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate() };
}

/** Age in whole years on `today`. */
export function ageOn(birth: Ymd, today: Ymd): number {
  let age = today.year - birth.year;
  if (today.month < birth.month || (today.month === birth.month && today.day < birth.day)) age -= 1;
  return age;
}

export function ageFromIso(iso: string | null | undefined, now: Date = new Date()): number | null {
  const birth = parseIsoDate(iso);
  if (!birth) return null;
  const age = ageOn(birth, todayYmd(now));
  return age >= 0 ? age : null;
}

const numberFormat = new Intl.NumberFormat("fr-FR");

export function frenchNumber(n: number): string {
  return numberFormat.format(n).replace(/\u00a0/g, NNBSP);
}

/** "Aucune personne", "1 personne", "12 personnes". */
export function countPersons(n: number): string {
  if (n === 0) return "Aucune personne";
  return `${frenchNumber(n)} personne${n > 1 ? "s" : ""}`;
}

export const RSA_LABELS: Record<RsaStatus, string> = {
  none: "Pas de RSA",
  open: "RSA ouvert",
  suspended: "RSA suspendu",
  closed: "RSA clos",
};

export function fullName(p: { first_name: string; last_name: string }): string {
  return `${p.first_name} ${p.last_name}`.trim();
}
