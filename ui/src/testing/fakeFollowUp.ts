// The follow-up commands of the fake backend (issue 6). Small ports of the rules the screens depend
// on — the real ones live in Rust (crates/domain/src/followup/): timeline order, referent history,
// work follow-ups at 1/3/6 months, the status review's flags, review-group decisions written on
// the person's file. Dates are ISO strings ("YYYY-MM-DD"), compared as text.
import cafJson from "../../../reference/rsa-caf-reasons.json";
import type { ActionStatus } from "../bindings/ActionStatus";
import type { CaseDecision } from "../bindings/CaseDecision";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import type { FollowUp } from "../bindings/FollowUp";
import type { FollowUpEdit } from "../bindings/FollowUpEdit";
import type { FollowUpView } from "../bindings/FollowUpView";
import type { IpcError } from "../bindings/IpcError";
import type { MeetingEdit } from "../bindings/MeetingEdit";
import type { Orientation } from "../bindings/Orientation";
import type { Person } from "../bindings/Person";
import type { Profile } from "../bindings/Profile";
import type { ReferentPeriod } from "../bindings/ReferentPeriod";
import type { ReviewExportFormat } from "../bindings/ReviewExportFormat";
import type { ReviewFlag } from "../bindings/ReviewFlag";
import type { ReviewMeeting } from "../bindings/ReviewMeeting";
import type { ReviewRow } from "../bindings/ReviewRow";
import type { ReviewScope } from "../bindings/ReviewScope";
import type { ReviewSettings } from "../bindings/ReviewSettings";
import type { StatusChange } from "../bindings/StatusChange";
import type { StatusChangeKind } from "../bindings/StatusChangeKind";
import type { StatusReview } from "../bindings/StatusReview";
import type { Step } from "../bindings/Step";
import type { TimelineEntry } from "../bindings/TimelineEntry";
import type { TimelineKind } from "../bindings/TimelineKind";
import type { WorkFollowUp } from "../bindings/WorkFollowUp";

const NNBSP = "\u202f";
const MESSAGES = {
  required: "Ce champ est obligatoire.",
  future: "Cette date est dans le futur.",
  choice: "Ce choix n’est pas possible.",
  number: `Saisissez un nombre entier, par exemple 30.`,
  endBeforeStart: "La date de fin précède la date de début.",
  personNotFound: "Cette personne n’existe pas ou plus.",
};

function fail(code: IpcError["code"], message: string, field: string | null = null): never {
  const error: IpcError = { code, message, field };
  throw error;
}

/** What the seed may give a person's file: anything but the person. */
export type FollowUpSeed = Partial<Omit<FollowUp, "person_id">>;

export interface FakeFollowUpSeed {
  /** Follow-up files, by the person's last name. */
  files?: { lastName: string; file: FollowUpSeed }[];
}

export interface FakeFollowUp {
  files: Map<string, FollowUp>;
  meetings: Map<string, ReviewMeeting>;
  /** Every status review export asked for, with the answer given. */
  saves: { settings: ReviewSettings; scope: ReviewScope; format: ReviewExportFormat; answer: string | null }[];
  /** The next save dialog is cancelled (the command answers null). */
  cancelNextSave(): void;
}

// --- calendar -----------------------------------------------------------------------------------

function toDate(iso: string): Date {
  return new Date(`${iso}T00:00:00Z`);
}
function toIso(d: Date): string {
  return d.toISOString().slice(0, 10);
}
export function addDays(iso: string, days: number): string {
  const d = toDate(iso);
  d.setUTCDate(d.getUTCDate() + days);
  return toIso(d);
}
export function daysBetween(from: string, to: string): number {
  return Math.round((toDate(to).getTime() - toDate(from).getTime()) / 86_400_000);
}
/** Calendar months; a day missing from the target month falls on its last day. */
export function addMonths(iso: string, months: number): string {
  const [y, m, d] = iso.split("-").map(Number) as [number, number, number];
  const index = m - 1 + months;
  const year = y + Math.floor(index / 12);
  const month = index % 12;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return toIso(new Date(Date.UTC(year, month, Math.min(d, last))));
}
function french(iso: string): string {
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}
/** The 26th birthday; born on 29 February, 1 March in common years. */
function turning26(birth: string): string {
  const [y, m, d] = birth.split("-").map(Number) as [number, number, number];
  const year = y + 26;
  const candidate = new Date(Date.UTC(year, m - 1, d));
  return candidate.getUTCMonth() === m - 1 ? toIso(candidate) : `${year}-03-01`;
}
function validIso(value: unknown): value is string {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}

// --- labels (as the domain writes them) ---------------------------------------------------------

const CAF = {
  closed: cafJson.lists.rsa_closure_reasons.items,
  suspended: cafJson.lists.rsa_suspension_reasons.items,
};
function cafLabel(status: string, code: string): string | null {
  const list = status === "closed" ? CAF.closed : status === "suspended" ? CAF.suspended : [];
  return list.find((r) => r.value === code)?.label ?? null;
}

const CONTRACT_LABELS = {
  contrat_engagement: "Contrat d’engagement",
  cer: "Contrat d’engagement réciproque (CER)",
  ppae: "Projet personnalisé d’accès à l’emploi (PPAE)",
  cej: "Contrat d’engagement jeune (CEJ)",
  pacea: "Parcours d’accompagnement vers l’emploi et l’autonomie (PACEA)",
} as const;
const INTERVIEW_LABELS = {
  joint_diagnostic: "Diagnostic partagé",
  follow_up: "Entretien de suivi",
  phone: "Entretien téléphonique",
  group: "Atelier collectif",
} as const;
const ORIENTATION_LABELS: Record<Orientation, string> = {
  professional: "professionnelle",
  socio_professional: "socio-professionnelle",
  social: "sociale",
};
const STEP_STATUS_LABELS: Record<ActionStatus, string> = {
  planned: "prévue",
  in_progress: "en cours",
  done: "réalisée",
  abandoned: "abandonnée",
  cancelled: "annulée",
};
const KIND_ORDER: TimelineKind[] = [
  "diagnostic",
  "orientation",
  "status_change",
  "objective_opened",
  "step",
  "interview",
  "objective_closed",
  "review_decision",
];

// --- derived views ------------------------------------------------------------------------------

interface ChangeView {
  date: string;
  kind: StatusChangeKind;
  label: string;
  sourceId: string | null;
}

function statusChanges(file: FollowUp, birth: string | null, from: string, to: string): ChangeView[] {
  const within = (d: string) => from <= d && d <= to;
  const out: ChangeView[] = [];
  for (const e of file.status_events) {
    if (!within(e.date)) continue;
    const c = e.change;
    if (c.kind === "rsa") {
      const what = c.status === "suspended" ? "RSA suspendu" : c.status === "closed" ? "RSA clos" : "RSA ouvert";
      const reason = c.reason_code ? cafLabel(c.status, c.reason_code) : null;
      out.push({
        date: e.date,
        kind: c.status === "suspended" ? "rsa_suspended" : c.status === "closed" ? "rsa_closed" : "rsa_opened",
        label: reason ? `${what} : ${reason}` : what,
        sourceId: e.id,
      });
    } else if (c.kind === "return_to_work") {
      out.push({ date: e.date, kind: "return_to_work", label: c.employer ? `Retour à l’emploi : ${c.employer}` : "Retour à l’emploi", sourceId: e.id });
    } else {
      out.push({ date: e.date, kind: "referent_changed", label: `Référent·e : ${c.referent} (${c.structure})`, sourceId: e.id });
    }
  }
  for (const c of file.contracts) {
    if (within(c.start)) out.push({ date: c.start, kind: "contract_started", label: `Début : ${CONTRACT_LABELS[c.kind]}`, sourceId: c.id });
    if (c.end && within(c.end)) out.push({ date: c.end, kind: "contract_ended", label: `Fin : ${CONTRACT_LABELS[c.kind]}`, sourceId: c.id });
  }
  const t26 = birth ? turning26(birth) : null;
  if (t26 && within(t26)) out.push({ date: t26, kind: "turned26", label: "26 ans : fin des dispositifs jeunes", sourceId: null });
  // Stable: recorded events, then contracts, then turning 26 within a day.
  return out.map((c, i) => [c, i] as const).sort((a, b) => a[0].date.localeCompare(b[0].date) || a[1] - b[1]).map(([c]) => c);
}

function referentHistory(file: FollowUp): ReferentPeriod[] {
  const changes = file.status_events
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.change.kind === "referent_changed")
    .sort((a, b) => a.e.date.localeCompare(b.e.date) || a.i - b.i);
  return changes.map(({ e }, i) => {
    const c = e.change as Extract<StatusChange, { kind: "referent_changed" }>;
    return { referent: c.referent, structure: c.structure, from: e.date, until: changes[i + 1]?.e.date ?? null };
  });
}

function referentOn(file: FollowUp, day: string): ReferentPeriod | null {
  const current = referentHistory(file).filter((p) => p.from <= day);
  return current[current.length - 1] ?? null;
}

function returnToWork(file: FollowUp, today: string): string | null {
  const dates = file.status_events.filter((e) => e.change.kind === "return_to_work" && e.date <= today).map((e) => e.date);
  return dates.sort().pop() ?? null;
}

const WORK_MONTHS = [1, 3, 6];
const EARLY_DAYS = 14;

function workFollowUps(file: FollowUp, today: string): WorkFollowUp[] {
  const since = returnToWork(file, today);
  if (!since) return [];
  const dues = WORK_MONTHS.map((m) => addMonths(since, m));
  return WORK_MONTHS.map((months, i) => {
    const due = dues[i] as string;
    const early = addDays(due, -EARLY_DAYS);
    const opens = early > addDays(since, 1) ? early : addDays(since, 1);
    const next = dues[i + 1];
    const closes = next ? addDays(next, -EARLY_DAYS) : null;
    const held = file.interviews
      .filter((iv) => iv.attended && iv.date <= today && iv.date >= opens && (closes === null || iv.date < closes))
      .map((iv) => iv.date)
      .sort()[0];
    const state: WorkFollowUp["state"] = held
      ? { state: "done", on: held }
      : closes !== null && today >= closes
        ? { state: "missed" }
        : today >= due
          ? { state: "due" }
          : { state: "upcoming" };
    return { months, due, state };
  });
}

function stepStart(s: Step): string | null {
  return s.actual_start ?? s.planned_start;
}
function stepEnd(s: Step): string | null {
  return s.actual_end ?? s.planned_end;
}
function isPending(s: Step): boolean {
  return (s.status === "planned" || s.status === "in_progress") && s.actual_end === null;
}

function span(start: string | null, end: string | null): string {
  if (start && end) return `du ${french(start)} au ${french(end)}`;
  if (start) return `à partir du ${french(start)}`;
  if (end) return `avant le ${french(end)}`;
  return "sans date";
}

function timeline(file: FollowUp, diagnostics: DiagnosticSummary[], birth: string | null, today: string): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const entry = (date: string, kind: TimelineKind, title: string, detail: string, themes: string[], source_id: string | null) =>
    out.push({ date, kind, status_change: null, title, detail, themes, source_id });
  for (const d of diagnostics) {
    const date = (d.date ?? d.finalised_at)?.slice(0, 10);
    if (!date) continue;
    let title = `Diagnostic partagé, version ${d.version}`;
    if (d.status === "draft") title += " (brouillon)";
    let detail = `Avec ${d.caseworker_name}`;
    if (d.co_interviewer_name.trim()) detail += ` et ${d.co_interviewer_name}`;
    if (d.orientation) detail += ` ; orientation ${ORIENTATION_LABELS[d.orientation]}`;
    entry(date, "diagnostic", title, detail, [], d.id);
  }
  const themeOf = new Map(file.objectives.map((o) => [o.id, o.theme]));
  for (const o of file.objectives) {
    entry(o.opened_on, "objective_opened", `Objectif : ${o.label}`, "", [o.theme], o.id);
    if (o.closed_on && o.status !== "open") {
      entry(o.closed_on, "objective_closed", `${o.status === "achieved" ? "Objectif atteint" : "Objectif abandonné"} : ${o.label}`, "", [o.theme], o.id);
    }
  }
  for (const s of file.steps) {
    let detail = `${span(stepStart(s), stepEnd(s))}, ${STEP_STATUS_LABELS[s.status]}`;
    if (s.provider) detail += ` ; avec ${s.provider}`;
    if (s.outcome) detail += ` ; résultat : ${s.outcome}`;
    entry(stepStart(s) ?? stepEnd(s) ?? s.created_on, "step", `Étape : ${s.label}`, detail, s.theme ? [s.theme] : [], s.id);
  }
  for (const i of file.interviews) {
    entry(i.date, "interview", INTERVIEW_LABELS[i.kind] + (i.attended ? "" : " (absence)"), i.by ? `Avec ${i.by}` : "", [...i.themes], i.id);
  }
  for (const c of statusChanges(file, birth, "0000-01-01", today)) {
    const themes =
      c.kind === "contract_started" || c.kind === "contract_ended"
        ? file.contracts.filter((k) => k.id === c.sourceId).flatMap((k) => k.objective_ids.map((id) => themeOf.get(id)).filter((t): t is string => !!t))
        : [];
    out.push({ date: c.date, kind: "status_change", status_change: c.kind, title: c.label, detail: "", themes, source_id: c.sourceId });
  }
  for (const o of file.orientations) {
    const by = o.decided_by.kind === "structure" ? `Décidée par ${o.decided_by.structure}` : "Décidée en groupe de suivi";
    entry(o.date, "orientation", `Orientation ${ORIENTATION_LABELS[o.orientation]}`, o.reasons ? `${by} : ${o.reasons}` : by, [], o.id);
  }
  for (const r of file.review_decisions) {
    const parts: string[] = [];
    const re = r.decision.reorientation;
    if (re) parts.push(`réorientation ${ORIENTATION_LABELS[re.orientation]} (${re.reasons})`);
    if (r.decision.actions.length > 0) parts.push(`actions : ${r.decision.actions.join(", ")}`);
    if (r.decision.next_review) parts.push(`prochain examen le ${french(r.decision.next_review)}`);
    const structures = r.structures_present.length > 0 ? ` (${r.structures_present.join(", ")})` : "";
    entry(r.date, "review_decision", `Décision du groupe de suivi${structures}`, parts.join(" ; "), [], r.meeting_id);
  }
  const cmp = (a: string | null, b: string | null) => (a ?? "").localeCompare(b ?? "");
  return out.sort(
    (a, b) =>
      a.date.localeCompare(b.date) || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || cmp(a.source_id, b.source_id) || a.title.localeCompare(b.title),
  );
}

/** i64 in Rust: ts-rs types it `bigint`, but JSON carries a plain number, as this fake does. */
function wide(n: number): bigint {
  return n as unknown as bigint;
}

function reviewRow(person: Person, file: FollowUp, settings: ReviewSettings, today: string): ReviewRow {
  const lastInterview = file.interviews.filter((i) => i.attended && i.date <= today).map((i) => i.date).sort().pop() ?? null;
  const daysSince = lastInterview ? daysBetween(lastInterview, today) : null;
  const flags: ReviewFlag[] = [];
  if (daysSince === null || daysSince >= settings.no_interview_weeks * 7) {
    flags.push({ kind: "no_interview", weeks: settings.no_interview_weeks, last: lastInterview });
  }

  let next: { id: string; label: string; date: string } | null = null;
  const overdue: ReviewRow["overdue_steps"] = [];
  for (const s of file.steps.filter(isPending)) {
    const notStarted = s.actual_start === null && s.status === "planned";
    const due = s.planned_end ?? (notStarted ? s.planned_start : null);
    if (due && due < today) {
      overdue.push({ step_id: s.id, label: s.label, due, days_overdue: wide(daysBetween(due, today)) });
      continue;
    }
    const date = notStarted ? (s.planned_start ?? s.planned_end) : null;
    if (date && date >= today && (!next || date < next.date || (date === next.date && s.id < next.id))) next = { id: s.id, label: s.label, date };
  }
  overdue.sort((a, b) => a.due.localeCompare(b.due) || a.step_id.localeCompare(b.step_id));
  const oldest = overdue[0];
  if (oldest) flags.push({ kind: "step_overdue", count: overdue.length, oldest_due: oldest.due });

  const dated = file.steps
    .filter((s) => s.status !== "cancelled" && stepStart(s) !== null)
    .map((s) => {
      const start = stepStart(s) as string;
      const end = stepEnd(s) ?? start;
      return { start, end: end > start ? end : start, id: s.id };
    })
    .sort((a, b) => a.start.localeCompare(b.start) || a.end.localeCompare(b.end) || a.id.localeCompare(b.id));
  const delays: ReviewRow["delays"] = [];
  let covered: { until: string; from: string } | null = null;
  for (const d of dated) {
    if (covered && d.start > covered.until) {
      delays.push({ from_step: covered.from, to_step: d.id, from_end: covered.until, to_start: d.start, days: wide(daysBetween(covered.until, d.start)) });
    }
    if (!covered || d.end > covered.until) covered = { until: d.end, from: d.id };
  }
  const lastEnd = file.steps
    .filter((s) => s.status !== "cancelled")
    .map(stepEnd)
    .filter((d): d is string => d !== null && d < today)
    .sort()
    .pop();
  const daysWithoutStep = file.steps.some(isPending) || !lastEnd ? null : daysBetween(lastEnd, today);

  const recent = statusChanges(file, person.birth_date, addDays(today, -settings.status_change_days), today).pop();
  if (recent && (lastInterview === null || lastInterview < recent.date)) {
    flags.push({ kind: "status_change_without_interview", date: recent.date, change: recent.kind, label: recent.label });
  }

  const work = workFollowUps(file, today);
  const since = returnToWork(file, today);
  if (since) {
    if (work.some((w) => w.state.state === "upcoming" || w.state.state === "due")) flags.push({ kind: "back_at_work", since });
    for (const w of work) if (w.state.state === "due") flags.push({ kind: "work_follow_up_due", months: w.months, due: w.due });
  }
  const referent = referentOn(file, today);
  const longest = delays.length > 0 ? Math.max(...delays.map((d) => Number(d.days))) : null;
  return {
    person_id: person.id,
    name: `${person.last_name} ${person.first_name}`.trim(),
    referent: referent ? `${referent.referent} (${referent.structure})` : null,
    last_interview: lastInterview,
    days_since_last_interview: daysSince === null ? null : wide(daysSince),
    next_step: next ? { step_id: next.id, label: next.label, date: next.date } : null,
    overdue_steps: overdue,
    delays,
    longest_delay_days: longest === null ? null : wide(longest),
    days_without_step: daysWithoutStep === null ? null : wide(daysWithoutStep),
    work_follow_ups: work,
    flags,
  };
}

// --- edits --------------------------------------------------------------------------------------

function text(field: string, raw: unknown, required: boolean): string {
  const value = String(raw ?? "").trim();
  if (required && value === "") fail("validation", MESSAGES.required, field);
  return value;
}
function date(field: string, raw: unknown): string {
  if (!validIso(raw)) fail("validation", `Cette date n’est pas valide. Exemple${NNBSP}: 14/07/1985.`, field);
  return raw;
}
function optDate(field: string, raw: unknown): string | null {
  return raw === null || raw === undefined ? null : date(field, raw);
}
function notFuture(field: string, d: string, today: string): void {
  if (d > today) fail("validation", MESSAGES.future, field);
}
function ordered(field: string, start: string | null, end: string | null): void {
  if (start && end && end < start) fail("validation", MESSAGES.endBeforeStart, field);
}
function cleanList(field: string, items: string[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    const v = text(field, item, false);
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}
function cleanDecision(d: CaseDecision, meetingDate: string): CaseDecision {
  let reorientation = null;
  if (d.reorientation) {
    const reasons = text("reorientation_reasons", d.reorientation.reasons, true);
    reorientation = { orientation: d.reorientation.orientation, reasons };
  }
  const next = optDate("next_review", d.next_review);
  if (next && next < meetingDate) fail("validation", "La date du prochain examen précède celle du groupe de suivi.", "next_review");
  return { reorientation, actions: cleanList("review_actions", d.actions), next_review: next, notes: text("review_notes", d.notes, false) };
}

function applyEdit(f: FollowUp, e: FollowUpEdit, today: string): void {
  const step = (id: string) => f.steps.find((s) => s.id === id) ?? fail("not_found", `Élément introuvable${NNBSP}: étape`);
  const contract = (id: string) => f.contracts.find((c) => c.id === id) ?? fail("not_found", `Élément introuvable${NNBSP}: contrat`);
  const objectives = (ids: string[]) => {
    for (const id of ids) if (!f.objectives.some((o) => o.id === id)) fail("not_found", `Élément introuvable${NNBSP}: objectif`);
    return [...new Set(ids)];
  };
  switch (e.kind) {
    case "add_objective":
      if (f.objectives.some((o) => o.id === e.id)) return;
      f.objectives.push({
        id: e.id,
        theme: text("objective_theme", e.theme, true),
        label: text("objective_label", e.label, true),
        status: "open",
        opened_on: date("objective_opened_on", e.opened_on),
        closed_on: null,
      });
      return;
    case "set_objective_status": {
      const o = f.objectives.find((x) => x.id === e.id) ?? fail("not_found", `Élément introuvable${NNBSP}: objectif`);
      if (e.status !== "open" && e.on < o.opened_on) fail("validation", MESSAGES.endBeforeStart, "objective_closed_on");
      o.status = e.status;
      o.closed_on = e.status === "open" ? null : e.on;
      return;
    }
    case "add_step": {
      if (f.steps.some((s) => s.id === e.id)) return;
      const label = text("step_label", e.label, true);
      const start = optDate("step_planned_start", e.planned_start);
      const end = optDate("step_planned_end", e.planned_end);
      ordered("step_planned_end", start, end);
      const objective = e.objective_id ? (f.objectives.find((o) => o.id === e.objective_id) ?? fail("not_found", `Élément introuvable${NNBSP}: objectif`)) : null;
      f.steps.push({
        id: e.id,
        objective_id: e.objective_id,
        theme: e.theme?.trim() ? e.theme.trim() : (objective?.theme ?? null),
        label,
        status: "planned",
        provider: "",
        outcome: "",
        planned_start: start,
        planned_end: end,
        actual_start: null,
        actual_end: null,
        created_on: e.created_on,
      });
      return;
    }
    case "set_step_text": {
      const value = text(`step_${e.field}`, e.value, e.field === "label");
      step(e.id)[e.field] = value;
      return;
    }
    case "set_step_status":
      if (!["planned", "in_progress", "done", "abandoned", "cancelled"].includes(e.status)) fail("validation", MESSAGES.choice, "step_status");
      step(e.id).status = e.status;
      return;
    case "set_step_planned_dates": {
      const start = optDate("step_planned_start", e.start);
      const end = optDate("step_planned_end", e.end);
      ordered("step_planned_end", start, end);
      const s = step(e.id);
      s.planned_start = start;
      s.planned_end = end;
      return;
    }
    case "set_step_actual_dates": {
      const start = optDate("step_actual_start", e.start);
      const end = optDate("step_actual_end", e.end);
      for (const d of [start, end]) if (d) notFuture("step_actual_date", d, today);
      ordered("step_actual_end", start, end);
      const s = step(e.id);
      s.actual_start = start;
      s.actual_end = end;
      const open = s.status === "planned" || s.status === "in_progress";
      if (end && open) s.status = "done";
      else if (start && s.status === "planned") s.status = "in_progress";
      return;
    }
    case "record_interview": {
      if (f.interviews.some((i) => i.id === e.id)) return;
      const d = date("interview_date", e.date);
      notFuture("interview_date", d, today);
      f.interviews.push({
        id: e.id,
        date: d,
        kind: e.interview_kind,
        attended: e.attended,
        by: text("interview_by", e.by, false),
        themes: cleanList("interview_themes", e.themes),
      });
      return;
    }
    case "set_interview_attended": {
      const i = f.interviews.find((x) => x.id === e.id) ?? fail("not_found", `Élément introuvable${NNBSP}: entretien`);
      i.attended = e.attended;
      return;
    }
    case "add_contract": {
      if (f.contracts.some((c) => c.id === e.id)) return;
      const start = date("contract_start", e.start);
      const end = optDate("contract_end", e.end);
      ordered("contract_end", start, end);
      f.contracts.push({ id: e.id, kind: e.contract_kind, start, end, objective_ids: objectives(e.objective_ids) });
      return;
    }
    case "set_contract_end": {
      const c = contract(e.id);
      const end = optDate("contract_end", e.end);
      ordered("contract_end", c.start, end);
      c.end = end;
      return;
    }
    case "set_contract_objectives": {
      const ids = objectives(e.objective_ids);
      contract(e.id).objective_ids = ids;
      return;
    }
    case "record_status_event": {
      if (f.status_events.some((x) => x.id === e.id)) return;
      const d = date("status_date", e.date);
      notFuture("status_date", d, today);
      const c = e.change;
      let change: StatusChange;
      if (c.kind === "rsa") {
        if (!["open", "suspended", "closed"].includes(c.status)) fail("validation", MESSAGES.choice, "rsa_status");
        const code = c.reason_code?.trim() || null;
        if (code && cafLabel(c.status, code) === null) fail("validation", `Motif CAF inconnu pour ce statut du RSA${NNBSP}: ${code}`, "reason_code");
        change = { kind: "rsa", status: c.status, reason_code: code };
      } else if (c.kind === "return_to_work") {
        change = { kind: "return_to_work", employer: text("employer", c.employer, false), contract_type: c.contract_type };
      } else {
        change = { kind: "referent_changed", referent: text("referent", c.referent, true), structure: text("structure", c.structure, true) };
      }
      f.status_events.push({ id: e.id, date: d, change });
      return;
    }
    case "record_orientation": {
      if (f.orientations.some((o) => o.id === e.id)) return;
      notFuture("orientation_date", e.date, today);
      const decided_by =
        e.decided_by.kind === "structure" ? { kind: "structure" as const, structure: text("orientation_structure", e.decided_by.structure, true) } : e.decided_by;
      f.orientations.push({ id: e.id, date: e.date, orientation: e.orientation, reasons: text("orientation_reasons", e.reasons, false), decided_by });
      return;
    }
    case "record_review_decision": {
      notFuture("review_date", e.date, today);
      const structures_present = cleanList("review_structures", e.structures_present);
      const decision = cleanDecision(e.decision, e.date);
      f.review_decisions = f.review_decisions.filter((r) => r.meeting_id !== e.meeting_id);
      f.review_decisions.push({ meeting_id: e.meeting_id, date: e.date, structures_present, decision });
      f.orientations = f.orientations.filter((o) => o.id !== e.meeting_id);
      if (decision.reorientation) {
        f.orientations.push({
          id: e.meeting_id,
          date: e.date,
          orientation: decision.reorientation.orientation,
          reasons: decision.reorientation.reasons,
          decided_by: { kind: "review_group", meeting_id: e.meeting_id },
        });
      }
      return;
    }
    case "set_review_agenda": {
      const entry = {
        meeting_id: e.meeting_id,
        date: e.date,
        structures_present: cleanList("review_structures", e.structures_present),
        reason: text("case_reason", e.reason, false),
        on_agenda: e.on_agenda,
      };
      f.review_agenda = f.review_agenda.filter((r) => r.meeting_id !== e.meeting_id);
      f.review_agenda.push(entry);
      return;
    }
  }
}

function applyMeetingEdit(m: ReviewMeeting, e: MeetingEdit): void {
  const kase = (personId: string) => m.cases.find((c) => c.person_id === personId) ?? fail("not_found", "Cette personne n’est pas à l’ordre du jour.");
  switch (e.kind) {
    case "set_date":
      if (m.cases.some((c) => c.decision)) fail("validation", "Une décision est déjà enregistrée.", "date");
      m.date = date("date", e.date);
      return;
    case "set_structures":
      m.structures_present = cleanList("review_structures", e.structures);
      return;
    case "add_case": {
      const reason = text("case_reason", e.reason, false);
      const existing = m.cases.find((c) => c.person_id === e.person_id);
      if (existing) existing.reason = reason;
      else m.cases.push({ person_id: e.person_id, reason, decision: null });
      return;
    }
    case "remove_case":
      if (kase(e.person_id).decision) fail("validation", "Une décision est déjà enregistrée.", null);
      m.cases = m.cases.filter((c) => c.person_id !== e.person_id);
      return;
    case "decide":
      kase(e.person_id).decision = cleanDecision(e.decision, m.date);
      return;
  }
}

// --- the store ----------------------------------------------------------------------------------

export interface FollowUpStore {
  followUp: FakeFollowUp;
  dispatch(cmd: string, args: Record<string, unknown>): { value: unknown } | null;
}

export function createFollowUpStore(
  seed: FakeFollowUpSeed,
  deps: {
    requireUnlocked: () => Profile;
    persons: () => Map<string, Person>;
    diagnostics: () => Map<string, Diagnostic>;
    listDiagnostics: (personId: string) => DiagnosticSummary[];
    newId: () => string;
    today: () => string;
  },
): FollowUpStore {
  const files = new Map<string, FollowUp>();
  const meetings = new Map<string, ReviewMeeting>();
  let cancelNext = false;
  const followUp: FakeFollowUp = {
    files,
    meetings,
    saves: [],
    cancelNextSave: () => {
      cancelNext = true;
    },
  };
  let seeded = false;

  function seedOnce(): void {
    if (seeded) return;
    seeded = true;
    for (const { lastName, file } of seed.files ?? []) {
      const person = [...deps.persons().values()].find((p) => p.last_name === lastName);
      if (!person) continue;
      files.set(person.id, { ...empty(person.id), ...structuredClone(file), person_id: person.id });
    }
  }

  function empty(personId: string): FollowUp {
    return { person_id: personId, objectives: [], steps: [], interviews: [], contracts: [], status_events: [], orientations: [], review_decisions: [], review_agenda: [] };
  }

  function person(id: unknown): Person {
    return deps.persons().get(String(id)) ?? fail("not_found", MESSAGES.personNotFound);
  }

  function file(personId: string): FollowUp {
    seedOnce();
    return files.get(personId) ?? empty(personId);
  }

  function view(p: Person): FollowUpView {
    const today = deps.today();
    const f = file(p.id);
    return {
      person_id: p.id,
      file: structuredClone(f),
      timeline: timeline(f, deps.listDiagnostics(p.id), p.birth_date, today),
      referents: referentHistory(f),
      work_follow_ups: workFollowUps(f, today),
      turning_26: p.birth_date ? turning26(p.birth_date) : null,
      today,
    };
  }

  /** Applies edits to a copy: nothing changes when one is refused. */
  function edit(p: Person, edits: FollowUpEdit[]): FollowUpView {
    const next = structuredClone(file(p.id));
    for (const e of edits) applyEdit(next, e, deps.today());
    files.set(p.id, next);
    return view(p);
  }

  function settingsOf(raw: unknown): ReviewSettings {
    const s = raw as ReviewSettings;
    const weeks = s?.no_interview_weeks;
    const days = s?.status_change_days;
    if (!Number.isInteger(weeks) || weeks < 1 || weeks > 104) fail("validation", MESSAGES.number, "no_interview_weeks");
    if (!Number.isInteger(days) || days < 1 || days > 366) fail("validation", MESSAGES.number, "status_change_days");
    return { no_interview_weeks: weeks, status_change_days: days };
  }

  function review(rawSettings: unknown, scope: ReviewScope): StatusReview {
    const profile = deps.requireUnlocked();
    seedOnce();
    const settings = settingsOf(rawSettings);
    const today = deps.today();
    const persons = [...deps.persons().values()]
      .filter((p) => {
        if (scope === "structure") return true;
        const referent = referentOn(file(p.id), today);
        return referent === null || referent.referent === profile.caseworker_name;
      })
      .sort((a, b) => a.last_name.localeCompare(b.last_name, "fr") || a.first_name.localeCompare(b.first_name, "fr"));
    return { generated_on: today, settings, rows: persons.map((p) => reviewRow(p, file(p.id), settings, today)) };
  }

  function meeting(id: unknown): ReviewMeeting {
    return meetings.get(String(id)) ?? fail("not_found", "Ce groupe de suivi n’existe pas ou plus.");
  }

  function dispatch(cmd: string, args: Record<string, unknown>): { value: unknown } | null {
    switch (cmd) {
      case "get_follow_up":
        deps.requireUnlocked();
        return { value: view(person(args.personId)) };
      case "edit_follow_up": {
        deps.requireUnlocked();
        return { value: edit(person(args.personId), [args.edit as FollowUpEdit]) };
      }
      case "plan_to_steps": {
        deps.requireUnlocked();
        const p = person(args.personId);
        const d = deps.diagnostics().get(String(args.diagnosticId));
        if (!d || d.person_id !== p.id) fail("not_found", "Ce diagnostic n’existe pas ou plus.");
        const f = file(p.id);
        const on = deps.today();
        const edits: FollowUpEdit[] = [];
        for (const o of d.plan) {
          if (!f.objectives.some((x) => x.id === o.id)) edits.push({ kind: "add_objective", id: o.id, theme: o.theme, label: o.label, opened_on: on });
          for (const a of o.actions) {
            if (f.steps.some((s) => s.id === a.id)) continue;
            edits.push({ kind: "add_step", id: a.id, objective_id: o.id, theme: o.theme, label: a.label, planned_start: null, planned_end: a.due_date, created_on: on });
            if (a.who.trim()) edits.push({ kind: "set_step_text", id: a.id, field: "provider", value: a.who });
            if (a.status !== "planned") edits.push({ kind: "set_step_status", id: a.id, status: a.status });
          }
        }
        return { value: edit(p, edits) };
      }
      case "status_review":
        return { value: review(args.settings, args.scope as ReviewScope) };
      case "save_status_review": {
        review(args.settings, args.scope as ReviewScope);
        const format = args.format as ReviewExportFormat;
        const answer = cancelNext ? null : `point-de-situation-${deps.today()}.${format}`;
        cancelNext = false;
        followUp.saves.push({ settings: args.settings as ReviewSettings, scope: args.scope as ReviewScope, format, answer });
        return { value: answer };
      }
      case "list_meetings":
        deps.requireUnlocked();
        return { value: [...meetings.values()].sort((a, b) => b.date.localeCompare(a.date)).map((m) => structuredClone(m)) };
      case "create_meeting": {
        deps.requireUnlocked();
        const m: ReviewMeeting = { id: deps.newId(), date: date("date", args.date), structures_present: [], cases: [] };
        meetings.set(m.id, m);
        return { value: structuredClone(m) };
      }
      case "edit_meeting": {
        deps.requireUnlocked();
        const current = meeting(args.meetingId);
        const e = args.edit as MeetingEdit;
        const next = structuredClone(current);
        if (e.kind === "add_case") person(e.person_id);
        applyMeetingEdit(next, e);
        // Same transaction: what the meeting says about each person is written on their file.
        const agenda = (personId: string): FollowUpEdit => {
          const c = next.cases.find((k) => k.person_id === personId);
          return {
            kind: "set_review_agenda",
            meeting_id: next.id,
            date: next.date,
            structures_present: next.structures_present,
            reason: c?.reason ?? "",
            on_agenda: c !== undefined,
          };
        };
        if (e.kind === "decide") {
          const decided = next.cases.find((c) => c.person_id === e.person_id);
          edit(person(e.person_id), [
            { kind: "record_review_decision", meeting_id: next.id, date: next.date, structures_present: next.structures_present, decision: decided?.decision as CaseDecision },
          ]);
        } else if (e.kind === "add_case" || e.kind === "remove_case") {
          edit(person(e.person_id), [agenda(e.person_id)]);
        } else {
          for (const c of next.cases) edit(person(c.person_id), [agenda(c.person_id)]);
        }
        meetings.set(next.id, next);
        return { value: structuredClone(next) };
      }
      default:
        return null;
    }
  }

  return { followUp, dispatch };
}
