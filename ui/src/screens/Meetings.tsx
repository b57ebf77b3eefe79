// « Groupes de suivi »: the review-group meetings (équipe pluridisciplinaire). The list and a new
// meeting; one meeting with the structures present, its agenda (cases put there from the status
// review) and the decision for each case, which Rust also writes on the person's own file.
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { CaseDecision } from "../bindings/CaseDecision";
import type { Orientation } from "../bindings/Orientation";
import type { ReviewCase } from "../bindings/ReviewCase";
import type { ReviewMeeting } from "../bindings/ReviewMeeting";
import { CheckboxField, RadioGroupField, TextAreaField, TextField } from "../components/Field";
import { todayIso } from "../components/followup/forms";
import { useBackend } from "../lib/backendContext";
import { ORIENTATION_LABELS, ORIENTATIONS } from "../lib/diagnosticLabels";
import { fr, frenchDate, fullName } from "../lib/format";
import { toIpcError, type IpcError } from "../lib/ipc";
import { followUpHref, meetingHref, MEETINGS_HREF, navigate, useDocumentTitle } from "../lib/route";

const REQUIRED = "Ce champ est obligatoire.";
const INCOMPLETE_DATE = "Cette date est incomplète. Exemple : 14/07/1985.";

export function Meetings({ meetingId }: { meetingId: string | null }) {
  return meetingId ? <MeetingScreen meetingId={meetingId} /> : <MeetingList />;
}

function casesSummary(m: ReviewMeeting): string {
  const n = m.cases.length;
  if (n === 0) return "Ordre du jour vide";
  const decided = m.cases.filter((c) => c.decision).length;
  return `${n} situation${n > 1 ? "s" : ""} à l’ordre du jour, ${decided} décidée${decided > 1 ? "s" : ""}`;
}

function MeetingList() {
  useDocumentTitle("Groupes de suivi");
  const backend = useBackend();
  const [meetings, setMeetings] = useState<ReviewMeeting[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [date, setDate] = useState(todayIso());
  const [dateError, setDateError] = useState<string | null>(null);
  const [incomplete, setIncomplete] = useState(false);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const dateInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  useEffect(() => {
    backend.listMeetings().then(setMeetings, (raw) => setProblem(toIpcError(raw).message));
  }, [backend]);

  async function create(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (incomplete || date === "") {
      setDateError(incomplete ? INCOMPLETE_DATE : REQUIRED);
      dateInput.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const meeting = await backend.createMeeting(date);
      navigate(meetingHref(meeting.id));
    } catch (raw) {
      const error = toIpcError(raw);
      if (error.code === "validation") {
        setDateError(error.message);
        dateInput.current?.focus();
      } else setProblem(error.message);
      setBusy(false);
    }
  }

  return (
    <div className="meetings">
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Groupes de suivi
        </h1>
      </div>
      <p className="lead">
        Les structures examinent ensemble les situations inscrites depuis le point de situation. La décision prise pour chaque personne est écrite dans son dossier et apparaît dans son suivi.
      </p>
      <form className="card form meetings__new" aria-labelledby="new-meeting-title" noValidate onSubmit={create}>
        <h2 id="new-meeting-title">Nouveau groupe de suivi</h2>
        <div className="row row--end">
          <TextField
            label="Date de la réunion"
            type="date"
            className="field--date"
            inputRef={dateInput}
            value={date}
            error={dateError}
            onValueChange={(v, input) => {
              setDate(v);
              setIncomplete(v === "" && input.validity.badInput);
              setDateError(null);
            }}
            data-testid="meeting-date"
          />
          <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="create-meeting">
            Créer le groupe de suivi
          </button>
        </div>
      </form>
      {problem ? (
        <p role="alert" className="alert alert--error">
          {fr(problem)}
        </p>
      ) : null}
      <section aria-labelledby="meeting-list-title">
        <h2 id="meeting-list-title">Réunions</h2>
        {meetings === null ? (
          problem ? null : <p>Chargement des groupes de suivi…</p>
        ) : meetings.length === 0 ? (
          <p className="hint" data-testid="no-meeting">
            Aucun groupe de suivi pour l’instant.
          </p>
        ) : (
          <ul className="diagnostic-list" data-testid="meeting-list">
            {meetings.map((m) => (
              <li key={m.id}>
                <a href={meetingHref(m.id)} className="diagnostic-row" data-testid="meeting-row">
                  <span className="diagnostic-row__title">Groupe de suivi du {frenchDate(m.date)}</span>
                  <span className="diagnostic-row__meta">
                    <span>{casesSummary(m)}</span>
                    {m.structures_present.length > 0 ? <span>{m.structures_present.join(", ")}</span> : null}
                  </span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function MeetingScreen({ meetingId }: { meetingId: string }) {
  const backend = useBackend();
  const [meeting, setMeeting] = useState<ReviewMeeting | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [loadError, setLoadError] = useState<string | null>(null);
  const [structures, setStructures] = useState("");
  const [structuresNotice, setStructuresNotice] = useState("");
  const [structuresError, setStructuresError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useDocumentTitle(meeting ? `Groupe de suivi du ${frenchDate(meeting.date)}` : "Groupe de suivi");

  useEffect(() => {
    let cancelled = false;
    backend.listMeetings().then(
      (list) => {
        if (cancelled) return;
        const found = list.find((m) => m.id === meetingId);
        if (!found) setLoadError("Ce groupe de suivi n’existe pas ou plus.");
        else {
          setMeeting(found);
          setStructures(found.structures_present.join("\n"));
        }
      },
      (raw) => !cancelled && setLoadError(toIpcError(raw).message),
    );
    return () => {
      cancelled = true;
    };
  }, [backend, meetingId]);

  const personIds = meeting?.cases.map((c) => c.person_id).join(",") ?? "";
  useEffect(() => {
    for (const id of personIds.split(",").filter(Boolean)) {
      backend.getPerson(id).then(
        (p) => setNames((n) => ({ ...n, [id]: fullName(p) || "Personne sans nom" })),
        () => setNames((n) => ({ ...n, [id]: "Personne introuvable" })),
      );
    }
  }, [backend, personIds]);

  const loaded = meeting !== null;
  useEffect(() => {
    if (loaded) heading.current?.focus();
  }, [loaded]);

  async function saveStructures(e: FormEvent) {
    e.preventDefault();
    setStructuresNotice("");
    setStructuresError(null);
    try {
      const saved = await backend.editMeeting(meetingId, { kind: "set_structures", structures: structures.split("\n") });
      setMeeting(saved);
      setStructures(saved.structures_present.join("\n"));
      setStructuresNotice("Structures présentes enregistrées.");
    } catch (raw) {
      setStructuresError(toIpcError(raw).message);
    }
  }

  if (loadError) {
    return (
      <div className="narrow">
        <h1>Groupe de suivi introuvable</h1>
        <p role="alert" className="alert alert--error">
          {fr(loadError)}
        </p>
        <p>
          <a href={MEETINGS_HREF} className="back-link">
            Retour aux groupes de suivi
          </a>
        </p>
      </div>
    );
  }

  return (
    <div className="meeting">
      <p className="back">
        <a href={MEETINGS_HREF} className="back-link">
          <span aria-hidden="true">← </span>Retour aux groupes de suivi
        </a>
      </p>
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1} data-testid="meeting-heading">
          {meeting ? `Groupe de suivi du ${frenchDate(meeting.date)}` : "Groupe de suivi"}
        </h1>
      </div>
      {!meeting ? (
        <p>Chargement du groupe de suivi…</p>
      ) : (
        <>
          <p className="alert alert--info" data-testid="decision-note">
            Chaque décision enregistrée ici est aussi écrite dans le dossier de la personne : elle apparaît dans son suivi et se synchronise avec le reste de son dossier.
          </p>
          <form className="card form" aria-labelledby="structures-title" noValidate onSubmit={saveStructures}>
            <h2 id="structures-title">Structures présentes</h2>
            <TextAreaField
              label="Structures présentes, une par ligne"
              value={structures}
              onValueChange={(v) => {
                setStructures(v);
                setStructuresNotice("");
              }}
              error={structuresError}
              rows={3}
              data-testid="meeting-structures"
            />
            <div className="actions">
              <button type="submit" className="button">
                Enregistrer les structures
              </button>
              <p role="status" className="inline-status">
                {structuresNotice}
              </p>
            </div>
          </form>
          <section aria-labelledby="agenda-title" className="agenda">
            <h2 id="agenda-title">Ordre du jour</h2>
            {meeting.cases.length === 0 ? (
              <p className="hint" data-testid="empty-agenda">
                Aucune situation à l’ordre du jour. Ajoutez-en depuis le « Point de situation », avec le bouton « Ajouter à un groupe de suivi » de chaque personne.
              </p>
            ) : (
              <ol className="agenda__list">
                {meeting.cases.map((c) => (
                  <li key={c.person_id}>
                    <CaseCard meeting={meeting} kase={c} name={names[c.person_id] ?? "…"} onSaved={setMeeting} />
                  </li>
                ))}
              </ol>
            )}
          </section>
        </>
      )}
    </div>
  );
}

function decisionSummary(d: CaseDecision): string[] {
  const lines: string[] = [];
  if (d.reorientation) lines.push(`Réorientation ${ORIENTATION_LABELS[d.reorientation.orientation].toLowerCase()} : ${d.reorientation.reasons}`);
  for (const a of d.actions) lines.push(`Action : ${a}`);
  if (d.next_review) lines.push(`Prochain examen le ${frenchDate(d.next_review)}`);
  if (d.notes) lines.push(`Notes : ${d.notes}`);
  if (lines.length === 0) lines.push("Pas de changement décidé.");
  return lines;
}

function CaseCard({
  meeting,
  kase,
  name,
  onSaved,
}: {
  meeting: ReviewMeeting;
  kase: ReviewCase;
  name: string;
  onSaved: (m: ReviewMeeting) => void;
}) {
  const backend = useBackend();
  const titleId = useId();
  const [deciding, setDeciding] = useState(false);
  const [notice, setNotice] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const decideButton = useRef<HTMLButtonElement>(null);
  const closeForm = () => {
    setDeciding(false);
    requestAnimationFrame(() => decideButton.current?.focus());
  };

  async function remove() {
    setProblem(null);
    try {
      onSaved(await backend.editMeeting(meeting.id, { kind: "remove_case", person_id: kase.person_id }));
    } catch (raw) {
      setProblem(toIpcError(raw).message);
    }
  }

  return (
    <article className="card case" aria-labelledby={titleId} data-testid="agenda-case">
      <h3 id={titleId}>{name}</h3>
      {kase.reason ? <p className="hint">{fr(`Motif : ${kase.reason}`)}</p> : null}
      {kase.decision ? null : (
        <p>
          <a href={followUpHref(kase.person_id)}>Voir son suivi</a> avant de décider.
        </p>
      )}
      {kase.decision && !deciding ? (
        <div className="case__decision" data-testid="case-decision">
          <p className="case__decided">
            <span className="badge badge--ok">Décidé</span> Décision écrite dans le dossier de la personne.{" "}
            <a href={followUpHref(kase.person_id)}>Voir son suivi</a>
          </p>
          <ul className="plain-list">
            {decisionSummary(kase.decision).map((line, i) => (
              <li key={i}>{fr(line)}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <p role="status" className="inline-status" data-testid="case-notice">
        {fr(notice)}
      </p>
      {problem ? (
        <p role="alert" className="alert alert--error">
          {fr(problem)}
        </p>
      ) : null}
      {deciding ? (
        <DecisionForm
          meeting={meeting}
          kase={kase}
          name={name}
          onCancel={closeForm}
          onSaved={(m) => {
            onSaved(m);
            closeForm();
            setNotice(`Décision enregistrée dans le dossier de ${name}.`);
          }}
        />
      ) : (
        <div className="actions">
          <button type="button" ref={decideButton} className="button button--primary" onClick={() => setDeciding(true)} aria-label={`${kase.decision ? "Corriger la décision" : "Enregistrer la décision"} pour ${name}`} data-testid="decide">
            {kase.decision ? "Corriger la décision" : "Enregistrer la décision"}
          </button>
          {kase.decision ? null : (
            <button type="button" className="button" onClick={() => void remove()} aria-label={`Retirer de l’ordre du jour : ${name}`}>
              Retirer de l’ordre du jour
            </button>
          )}
        </div>
      )}
    </article>
  );
}

type DecisionField = "reasons" | "next" | "actions" | "notes";

const DECISION_FIELDS: Record<string, DecisionField> = {
  reorientation_reasons: "reasons",
  next_review: "next",
  review_actions: "actions",
  review_notes: "notes",
};

function DecisionForm({
  meeting,
  kase,
  name,
  onCancel,
  onSaved,
}: {
  meeting: ReviewMeeting;
  kase: ReviewCase;
  name: string;
  onCancel: () => void;
  onSaved: (m: ReviewMeeting) => void;
}) {
  const backend = useBackend();
  const initial = kase.decision;
  const [reorient, setReorient] = useState(initial?.reorientation != null);
  const [orientation, setOrientation] = useState<Orientation>(initial?.reorientation?.orientation ?? "social");
  const [reasons, setReasons] = useState(initial?.reorientation?.reasons ?? "");
  const [actions, setActions] = useState(initial?.actions.join("\n") ?? "");
  const [next, setNext] = useState(initial?.next_review ?? "");
  const [nextIncomplete, setNextIncomplete] = useState(false);
  const [notes, setNotes] = useState(initial?.notes ?? "");
  const [errors, setErrors] = useState<Partial<Record<DecisionField, string>>>({});
  const [alert, setAlert] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const titleId = useId();

  useEffect(() => {
    form.current?.querySelector<HTMLElement>("input, select, textarea")?.focus();
  }, []);

  const focusInvalid = () => requestAnimationFrame(() => form.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus());

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Partial<Record<DecisionField, string>> = {};
    if (reorient && !reasons.trim()) found.reasons = REQUIRED;
    if (nextIncomplete) found.next = INCOMPLETE_DATE;
    setErrors(found);
    setAlert(null);
    if (Object.keys(found).length > 0) {
      focusInvalid();
      return;
    }
    const decision: CaseDecision = {
      reorientation: reorient ? { orientation, reasons } : null,
      actions: actions.split("\n"),
      next_review: next || null,
      notes,
    };
    setBusy(true);
    try {
      onSaved(await backend.editMeeting(meeting.id, { kind: "decide", person_id: kase.person_id, decision }));
    } catch (raw) {
      const error: IpcError = toIpcError(raw);
      const target = error.field ? DECISION_FIELDS[error.field] : undefined;
      if (error.field === "review_date") {
        // The meeting's own date is in the future: nothing in this form to correct.
        setErrors({});
        setAlert("Le groupe de suivi n’a pas encore eu lieu : la décision s’enregistre le jour de la réunion ou après.");
      } else if (error.code === "validation" && target) {
        setErrors({ [target]: error.message });
        focusInvalid();
      } else setAlert(error.message);
      setBusy(false);
    }
  }

  return (
    <form ref={form} className="form decision-form" aria-labelledby={titleId} noValidate onSubmit={submit} data-testid="decision-form">
      <h4 id={titleId}>Décision pour {name}</h4>
      <p className="hint">Elle sera écrite dans le dossier de {name} et apparaîtra dans son suivi.</p>
      {meeting.date > todayIso() ? (
        <p className="alert alert--warning">{fr("Ce groupe de suivi est à venir : la décision pourra être enregistrée le jour de la réunion.")}</p>
      ) : null}
      <CheckboxField label="Réorientation" checked={reorient} onCheckedChange={setReorient} />
      {reorient ? (
        <>
          <RadioGroupField
            legend="Nouvelle orientation"
            name="reorientation"
            value={orientation}
            onValueChange={(v) => setOrientation(v as Orientation)}
            options={ORIENTATIONS.map((o) => [o, ORIENTATION_LABELS[o]] as const)}
            inline
          />
          <TextAreaField label="Motifs de la réorientation" value={reasons} onValueChange={setReasons} error={errors.reasons ?? null} />
        </>
      ) : null}
      <TextAreaField label="Actions décidées, une par ligne" value={actions} onValueChange={setActions} error={errors.actions ?? null} rows={3} data-testid="decision-actions" />
      <TextField
        label="Prochain examen"
        hint="Facultatif ; pas avant la date du groupe."
        type="date"
        className="field--date"
        value={next}
        error={errors.next ?? null}
        onValueChange={(v, input) => {
          setNext(v);
          setNextIncomplete(v === "" && input.validity.badInput);
        }}
        data-testid="decision-next"
      />
      <TextAreaField label="Notes" value={notes} onValueChange={setNotes} error={errors.notes ?? null} />
      {alert ? (
        <p role="alert" className="alert alert--error">
          {fr(alert)}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          Enregistrer la décision
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Annuler
        </button>
      </div>
    </form>
  );
}
