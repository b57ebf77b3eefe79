// « Suivi »: a person's follow-up after the diagnostic — landmarks that survive every change of
// situation (referents, open objectives, 26th birthday, work follow-ups), the pathway's steps, the
// forms that add to the file, and the timeline filtered by theme. Every rule is computed in Rust;
// this screen shows the view and sends edits.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import type { FollowUpEdit } from "../bindings/FollowUpEdit";
import type { FollowUpView } from "../bindings/FollowUpView";
import type { ObjectiveStatus } from "../bindings/ObjectiveStatus";
import type { Person } from "../bindings/Person";
import type { ReferentielTheme } from "../bindings/ReferentielTheme";
import type { Step } from "../bindings/Step";
import {
  AddStepForm,
  ContractForm,
  EditStepForm,
  InterviewForm,
  SelectField,
  StatusEventForm,
  todayIso,
  type SendEdits,
} from "../components/followup/forms";
import { useBackend } from "../lib/backendContext";
import { ACTION_STATUS_LABELS } from "../lib/diagnosticLabels";
import { fr, frenchDate, fullName } from "../lib/format";
import { CONTRACT_KIND_LABELS, timelineKindLabel, workFollowUpLabel } from "../lib/followupLabels";
import { toIpcError } from "../lib/ipc";
import { MEETINGS_HREF, personHref, useDocumentTitle } from "../lib/route";

type OpenForm = "interview" | "step" | "contract" | "status" | null;

const FORM_BUTTONS: [Exclude<OpenForm, null>, string][] = [
  ["interview", "Enregistrer un entretien"],
  ["step", "Ajouter une étape"],
  ["contract", "Ajouter un contrat"],
  ["status", "Enregistrer un changement de situation"],
];

/** The diagnostic whose plan is carried: the latest finalised version, else the latest draft. */
function planSource(diagnostics: DiagnosticSummary[]): DiagnosticSummary | null {
  const byRecent = [...diagnostics].sort((a, b) => (b.date ?? "").localeCompare(a.date ?? "") || b.version - a.version);
  return byRecent.find((d) => d.status === "finalised") ?? byRecent[0] ?? null;
}

/** The same day a year earlier: a 26th birthday older than that is no longer news. */
function yearBefore(iso: string): string {
  return `${Number(iso.slice(0, 4)) - 1}${iso.slice(4)}`;
}

function span(start: string | null, end: string | null): string {
  if (start && end) return `du ${frenchDate(start)} au ${frenchDate(end)}`;
  if (start) return `à partir du ${frenchDate(start)}`;
  if (end) return `avant le ${frenchDate(end)}`;
  return "sans date";
}

export function FollowUpScreen({ personId }: { personId: string }) {
  const backend = useBackend();
  const [person, setPerson] = useState<Person | null>(null);
  const [view, setView] = useState<FollowUpView | null>(null);
  const [themes, setThemes] = useState<ReferentielTheme[]>([]);
  const [diagnostics, setDiagnostics] = useState<DiagnosticSummary[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [open, setOpen] = useState<OpenForm>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [importing, setImporting] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const toggles = useRef(new Map<string, HTMLButtonElement>());
  const filterId = useId();
  const name = person ? fullName(person) || "Personne sans nom" : "";

  useDocumentTitle(person ? `Suivi de ${name}` : "Suivi");

  useEffect(() => {
    let cancelled = false;
    Promise.all([backend.getPerson(personId), backend.getFollowUp(personId)]).then(
      ([p, v]) => {
        if (cancelled) return;
        setPerson(p);
        setView(v);
      },
      (raw) => {
        if (!cancelled) setLoadError(toIpcError(raw).message);
      },
    );
    // Secondary: the screen works without them (no theme list, no plan import).
    backend.referentiel().then(
      (r) => !cancelled && setThemes(r.themes),
      () => {},
    );
    backend.listDiagnostics(personId).then(
      (list) => !cancelled && setDiagnostics(list),
      () => {},
    );
    return () => {
      cancelled = true;
    };
  }, [backend, personId]);

  const loaded = view !== null;
  useEffect(() => {
    if (loaded) heading.current?.focus();
  }, [loaded]);

  const send: SendEdits = useCallback(
    async (edits: FollowUpEdit[], done: string) => {
      setNotice("");
      setProblem(null);
      for (const edit of edits) {
        try {
          setView(await backend.editFollowUp(personId, edit));
        } catch (raw) {
          return toIpcError(raw);
        }
      }
      setNotice(done);
      return null;
    },
    [backend, personId],
  );

  /** A form closes (saved or cancelled): the focus goes back to the button that opened it. */
  const closeForm = (key: Exclude<OpenForm, null>) => {
    setOpen(null);
    requestAnimationFrame(() => toggles.current.get(key)?.focus());
  };
  const closeStep = (id: string) => {
    setEditing(null);
    requestAnimationFrame(() => document.getElementById(`edit-step-${id}`)?.focus());
  };

  const themeLabel = (key: string) => themes.find((t) => t.key === key)?.label ?? key;

  async function setObjectiveStatus(id: string, status: ObjectiveStatus, label: string) {
    const error = await send([{ kind: "set_objective_status", id, status, on: todayIso() }], status === "achieved" ? `Objectif atteint : ${label}.` : `Objectif abandonné : ${label}.`);
    if (error) setProblem(error.message);
  }

  async function importPlan(source: DiagnosticSummary) {
    if (importing || !view) return;
    setImporting(true);
    setNotice("");
    setProblem(null);
    try {
      const before = view.file;
      const after = await backend.planToSteps(personId, source.id);
      setView(after);
      const objectives = after.file.objectives.length - before.objectives.length;
      const steps = after.file.steps.length - before.steps.length;
      setNotice(
        objectives + steps === 0
          ? "Le plan du diagnostic est déjà repris dans le suivi."
          : `Plan du diagnostic repris : ${objectives} objectif${objectives > 1 ? "s" : ""} et ${steps} étape${steps > 1 ? "s" : ""} ajouté${objectives + steps > 1 ? "s" : ""}.`,
      );
    } catch (raw) {
      setProblem(toIpcError(raw).message);
    } finally {
      setImporting(false);
    }
  }

  if (loadError) {
    return (
      <div className="narrow">
        <h1>Suivi introuvable</h1>
        <p role="alert" className="alert alert--error">
          {fr(loadError)}
        </p>
        <p>
          <a href={personHref(personId)} className="back-link">
            Retour à la fiche
          </a>
        </p>
      </div>
    );
  }

  const file = view?.file;
  const openObjectives = file?.objectives.filter((o) => o.status === "open") ?? [];
  const closedObjectives = file?.objectives.filter((o) => o.status !== "open") ?? [];
  // Meetings the person is on the agenda of and that have not decided for them yet.
  const pendingAgenda = (file?.review_agenda ?? [])
    .filter((e) => e.on_agenda && !file?.review_decisions.some((d) => d.meeting_id === e.meeting_id))
    .sort((x, y) => x.date.localeCompare(y.date));
  const entries = view ? (filter ? view.timeline.filter((e) => e.themes.includes(filter)) : view.timeline) : [];
  const source = planSource(diagnostics);
  const today = view?.today ?? todayIso();

  return (
    <div className="followup">
      <p className="back">
        <a href={personHref(personId)} className="back-link" data-testid="back-to-person">
          <span aria-hidden="true">← </span>Retour à la fiche
        </a>
      </p>
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1} data-testid="followup-heading">
          {person ? `Suivi de ${name}` : "Suivi"}
        </h1>
      </div>
      <p role="status" className="followup__notice" data-testid="followup-notice">
        {fr(notice)}
      </p>
      {problem ? (
        <p role="alert" className="alert alert--error">
          {fr(problem)}
        </p>
      ) : null}
      {!view || !file ? (
        <p>Chargement du suivi…</p>
      ) : (
        <>
          <section className="card section followup__landmarks" aria-labelledby="landmarks-title">
            <h2 id="landmarks-title">Repères</h2>
            <div className="landmarks">
              <div>
                <h3>Référent·es</h3>
                {view.referents.length === 0 ? (
                  <p className="hint">Aucun·e référent·e enregistré·e.</p>
                ) : (
                  <ul className="plain-list" data-testid="referents">
                    {view.referents.map((r, i) => (
                      <li key={`${r.from}-${i}`}>
                        {r.until ? `Référent·e du ${frenchDate(r.from)} au ${frenchDate(r.until)}` : `Référent·e depuis le ${frenchDate(r.from)}`}
                        {fr(` : ${r.referent} (${r.structure})`)}
                        {r.until ? null : <span className="badge badge--ok">actuel·le</span>}
                      </li>
                    ))}
                  </ul>
                )}
                {view.turning_26 && view.turning_26 >= yearBefore(today) ? (
                  <>
                    <h3>26 ans</h3>
                    <p data-testid="turning-26">
                      {view.turning_26 > today
                        ? fr(`26 ans le ${frenchDate(view.turning_26)} : fin des dispositifs jeunes (CEJ, PACEA).`)
                        : `26 ans depuis le ${frenchDate(view.turning_26)}.`}
                    </p>
                  </>
                ) : null}
                {view.work_follow_ups.length > 0 ? (
                  <>
                    <h3>Suivi dans l’emploi</h3>
                    <ul className="plain-list" data-testid="work-follow-ups">
                      {view.work_follow_ups.map((w) => (
                        <li key={w.months}>
                          {fr(workFollowUpLabel(w))}
                          {w.state.state === "due" ? <span className="badge badge--warning">à faire</span> : null}
                        </li>
                      ))}
                    </ul>
                  </>
                ) : null}
                {pendingAgenda.length > 0 ? (
                  <>
                    <h3>Groupe de suivi</h3>
                    <ul className="plain-list" data-testid="review-agenda">
                      {pendingAgenda.map((e) => (
                        <li key={e.meeting_id}>
                          <a href={MEETINGS_HREF}>{`À l’ordre du jour du ${frenchDate(e.date)}`}</a>
                          {e.reason ? fr(` : ${e.reason}`) : null}
                        </li>
                      ))}
                    </ul>
                  </>
                ) : null}
                {file.contracts.length > 0 ? (
                  <>
                    <h3>Contrats</h3>
                    <ul className="plain-list" data-testid="contracts">
                      {file.contracts.map((c) => (
                        <li key={c.id}>
                          {CONTRACT_KIND_LABELS[c.kind]}, {c.end ? `du ${frenchDate(c.start)} au ${frenchDate(c.end)}` : `depuis le ${frenchDate(c.start)}`}
                          {c.objective_ids.length > 0
                            ? fr(` ; objectifs : ${c.objective_ids.map((id) => file.objectives.find((o) => o.id === id)?.label ?? "").filter(Boolean).join(", ")}`)
                            : null}
                        </li>
                      ))}
                    </ul>
                  </>
                ) : null}
              </div>
              <div>
                <h3>Objectifs en cours</h3>
                {openObjectives.length === 0 ? (
                  <p className="hint">Aucun objectif en cours.</p>
                ) : (
                  <ul className="objective-list" data-testid="open-objectives">
                    {openObjectives.map((o) => (
                      <li key={o.id}>
                        <span className="objective-list__label">{o.label}</span>
                        <span className="hint">
                          {themeLabel(o.theme)}, depuis le {frenchDate(o.opened_on)}
                        </span>
                        <span className="objective-list__actions">
                          <button type="button" className="button button--small" onClick={() => void setObjectiveStatus(o.id, "achieved", o.label)} aria-label={`Atteint : ${o.label}`}>
                            Atteint
                          </button>
                          <button type="button" className="button button--small" onClick={() => void setObjectiveStatus(o.id, "abandoned", o.label)} aria-label={`Abandonné : ${o.label}`}>
                            Abandonné
                          </button>
                        </span>
                      </li>
                    ))}
                  </ul>
                )}
                {closedObjectives.length > 0 ? (
                  <p className="hint">
                    {closedObjectives.length === 1 ? "1 objectif atteint ou abandonné" : `${closedObjectives.length} objectifs atteints ou abandonnés`} : voir la chronologie.
                  </p>
                ) : null}
              </div>
            </div>
          </section>

          <section className="card section" aria-labelledby="record-title">
            <h2 id="record-title">Compléter le suivi</h2>
            <div className="followup__buttons">
              {FORM_BUTTONS.map(([key, label]) => (
                <button
                  key={key}
                  type="button"
                  className="button followup__toggle"
                  aria-expanded={open === key}
                  ref={(el) => {
                    if (el) toggles.current.set(key, el);
                    else toggles.current.delete(key);
                  }}
                  onClick={() => {
                    setNotice("");
                    setOpen(open === key ? null : key);
                  }}
                  data-testid={`open-${key}-form`}
                >
                  {label}
                </button>
              ))}
              {source ? (
                <button type="button" className="button" onClick={() => void importPlan(source)} aria-disabled={importing || undefined} data-testid="plan-to-steps">
                  Reprendre le plan du diagnostic
                </button>
              ) : null}
            </div>
            {source ? (
              <p className="hint">
                Le plan du diagnostic du {source.date ? frenchDate(source.date) : "(sans date)"} : ses objectifs et actions qui ne sont pas encore dans le suivi y sont ajoutés, sans doublon.
              </p>
            ) : null}
            {open === "interview" ? <InterviewForm themes={themes} send={send} onClose={() => closeForm("interview")} /> : null}
            {open === "step" ? <AddStepForm themes={themes} objectives={openObjectives} send={send} onClose={() => closeForm("step")} /> : null}
            {open === "contract" ? <ContractForm objectives={openObjectives} send={send} onClose={() => closeForm("contract")} /> : null}
            {open === "status" ? <StatusEventForm send={send} onClose={() => closeForm("status")} /> : null}
          </section>

          <section className="card section" aria-labelledby="steps-title">
            <h2 id="steps-title">Étapes du parcours</h2>
            {file.steps.length === 0 ? (
              <p className="hint">Aucune étape pour l’instant.</p>
            ) : (
              <ul className="step-list" data-testid="steps">
                {file.steps.map((s) => (
                  <li key={s.id} className="step-item">
                    {editing === s.id ? (
                      <EditStepForm step={s} send={send} onClose={() => closeStep(s.id)} />
                    ) : (
                      <StepSummary step={s} themeLabel={themeLabel} onEdit={() => setEditing(s.id)} />
                    )}
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section className="card section" aria-labelledby="timeline-title">
            <div className="timeline__head">
              <h2 id="timeline-title">Chronologie</h2>
              <div className="timeline__filter">
                <SelectField
                  label="Thème"
                  value={filter}
                  onChange={setFilter}
                  options={[["", "Tous les thèmes"], ...themes.map((t) => [t.key, t.label] as const)]}
                  testId="timeline-filter"
                />
              </div>
            </div>
            <p className="hint" id={filterId} data-testid="timeline-count">
              {entries.length === 0
                ? filter
                  ? "Aucun événement pour ce thème."
                  : "Aucun événement pour l’instant."
                : fr(`${entries.length} événement${entries.length > 1 ? "s" : ""}${filter ? ` pour le thème « ${themeLabel(filter)} »` : ""}, du plus ancien au plus récent.`)}
            </p>
            {entries.length > 0 ? (
              <ol className="timeline" aria-describedby={filterId} data-testid="timeline">
                {entries.map((e, i) => (
                  <li key={`${e.kind}-${e.source_id ?? "derived"}-${e.date}-${i}`} className={`timeline__entry timeline__entry--${e.kind}`} data-testid="timeline-entry">
                    <p className="timeline__date">{frenchDate(e.date)}</p>
                    <div>
                      <p className="timeline__title">
                        <span className="timeline__kind">{timelineKindLabel(e)}</span>
                        {fr(e.title)}
                        {e.date > today ? <span className="badge">à venir</span> : null}
                      </p>
                      {e.detail ? <p className="timeline__detail">{fr(e.detail)}</p> : null}
                      {e.themes.length > 0 ? <p className="timeline__themes hint">{fr(`Thèmes : ${e.themes.map(themeLabel).join(", ")}`)}</p> : null}
                    </div>
                  </li>
                ))}
              </ol>
            ) : null}
          </section>
        </>
      )}
    </div>
  );
}

function StepSummary({ step, themeLabel, onEdit }: { step: Step; themeLabel: (key: string) => string; onEdit: () => void }) {
  return (
    <div className="step-summary">
      <div>
        <p className="step-summary__label">{step.label}</p>
        <p className="step-summary__meta">
          <span className="badge">{ACTION_STATUS_LABELS[step.status]}</span>
          <span>Prévue {span(step.planned_start, step.planned_end)}</span>
          {step.actual_start || step.actual_end ? <span>Réalisée {span(step.actual_start, step.actual_end)}</span> : null}
          {step.theme ? <span>{themeLabel(step.theme)}</span> : null}
        </p>
        {step.provider ? <p className="hint">{fr(`Prestataire : ${step.provider}`)}</p> : null}
        {step.outcome ? <p className="hint">{fr(`Résultat : ${step.outcome}`)}</p> : null}
      </div>
      <button type="button" className="button" id={`edit-step-${step.id}`} onClick={onEdit} aria-label={`Modifier l’étape « ${step.label} »`}>
        Modifier
      </button>
    </div>
  );
}
