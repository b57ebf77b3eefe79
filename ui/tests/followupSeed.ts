// The follow-up files the follow-up and accessibility tests start from (not a spec: no test here).
import type { FakeSeed } from "../src/testing/fakeBackend.ts";
import { addDays } from "../src/testing/fakeFollowUp.ts";
import { UNLOCKED_WITH_TWO } from "./harness.ts";

/** A date `n` calendar days before today on the laptop (the page runs in Europe/Paris). Not
 * `n × 24 h` before now: across a change of summer time that lands on the next day in the
 * last hour before midnight, and « il y a 70 jours » read 69. */
export function daysAgo(n: number): string {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date());
  return addDays(today, -n);
}

const FRENCH_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
export function frenchDate(iso: string): string {
  const [y, m, d] = iso.split("-").map(Number) as [number, number, number];
  return `${d === 1 ? "1er" : d} ${FRENCH_MONTHS[m - 1]} ${y}`;
}

/** French spacing, as the screens write it (narrow no-break space before « : » and inside « »). */
export function fr(text: string): string {
  return text.replace(/ ([:;!?»])/g, "\u202f$1").replace(/« /g, "«\u202f");
}

const OBJECTIVE_ID = "0f000000-0000-4000-8000-000000000001";

/** Hélène: last met 70 days ago, one overdue step, two referents. Jérôme: followed by someone else, RSA suspended 10 days ago, back at work 40 days ago. */
export const FOLLOWED: FakeSeed = {
  ...UNLOCKED_WITH_TWO,
  followUp: {
    files: [
      {
        lastName: "Lefèvre",
        file: {
          objectives: [{ id: OBJECTIVE_ID, theme: "logement", label: "Accéder à un logement autonome", status: "open", opened_on: daysAgo(200), closed_on: null }],
          steps: [
            {
              id: "0f000000-0000-4000-8000-000000000002",
              objective_id: OBJECTIVE_ID,
              theme: "logement",
              label: "Dossier de demande de logement social",
              status: "planned",
              provider: "CCAS",
              outcome: "",
              planned_start: daysAgo(40),
              planned_end: daysAgo(10),
              actual_start: null,
              actual_end: null,
              created_on: daysAgo(200),
            },
          ],
          interviews: [{ id: "0f000000-0000-4000-8000-000000000003", date: daysAgo(70), kind: "follow_up", attended: true, by: "Camille Durand", themes: ["logement"] }],
          status_events: [
            { id: "0f000000-0000-4000-8000-000000000004", date: daysAgo(200), change: { kind: "referent_changed", referent: "Anne Morel", structure: "CCAS de Villeurbanne" } },
            { id: "0f000000-0000-4000-8000-000000000005", date: daysAgo(100), change: { kind: "referent_changed", referent: "Camille Durand", structure: "Mission locale de Villeurbanne" } },
          ],
        },
      },
      {
        lastName: "Martin",
        file: {
          interviews: [{ id: "0f000000-0000-4000-8000-000000000006", date: daysAgo(20), kind: "phone", attended: true, by: "", themes: ["emploi"] }],
          status_events: [
            { id: "0f000000-0000-4000-8000-000000000007", date: daysAgo(300), change: { kind: "referent_changed", referent: "Paul Girard", structure: "France Travail" } },
            { id: "0f000000-0000-4000-8000-000000000008", date: daysAgo(10), change: { kind: "rsa", status: "suspended", reason_code: "caf_ressources_trop_elevees" } },
            { id: "0f000000-0000-4000-8000-000000000009", date: daysAgo(40), change: { kind: "return_to_work", employer: "Boulangerie Dupain", contract_type: "cdd" } },
          ],
        },
      },
    ],
  },
};

