// The joint diagnostic interview: two professionals and the person, one step at a time.
// The screen is shared with the person sitting beside it, so it shows only their file.
//
// Stable data-testid attributes (used by the UI tests and the end-to-end test in the real window):
//   diagnostic-heading   the h1 (« Diagnostic de <prénom nom> »)
//   diagnostic-status    version and state: « Version 2 · Brouillon » / « Version 1 · Finalisé le … »
//   save-status          « Enregistrement… » / « Enregistré » / « Non enregistré : … » (role=status)
//   step-<key>           a link of the step list; keys: entretien, each référentiel theme key
//                        (logement, emploi, …), mots, projet, orientation, plan, consentement, synthese
//   step-heading         the h2 of the current step (focused after a step change)
//   next-step, previous-step   « Étape suivante » / « Étape précédente »
//   grade-<theme>        the grade radio group of a theme
//   add-note             « Ajouter une note » on a theme step; note-<n> each note (0-based, in order)
//   rome-search          the job search input; rome-result each result button; target-job each chosen job
//   add-objective        the objective select's « Ajouter l’objectif » button; objective-select the select
//   objective            each objective card; add-action its « Ajouter une action » button; action each action row
//   add-structure        « Ajouter la structure » (consent)
//   missing              the « Il manque encore : » list on the summary
//   signoff-<signer>     the sign-off block of caseworker, co_interviewer, person; sign-<signer> its button
//   finalise             « Finaliser le diagnostic »; finalise-error the refusal message
//   amend                « Modifier (nouvelle version) » on a finalised diagnostic
//   changes              the « Modifications » list of a version ≥ 2
//   print-person, print-professional, save-person, save-professional   the document buttons;
//   print-message        the result of printing or saving; save-instead offered when printing failed
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Audience } from "../bindings/Audience";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticEdit } from "../bindings/DiagnosticEdit";
import type { DiagnosticField } from "../bindings/DiagnosticField";
import type { Grade } from "../bindings/Grade";
import type { Interviewer } from "../bindings/Interviewer";
import type { Note } from "../bindings/Note";
import type { NoteVisibility } from "../bindings/NoteVisibility";
import type { Person } from "../bindings/Person";
import type { PlanAction } from "../bindings/PlanAction";
import type { Referentiel } from "../bindings/Referentiel";
import type { ReferentielTheme } from "../bindings/ReferentielTheme";
import type { RomeMatch } from "../bindings/RomeMatch";
import type { Signer } from "../bindings/Signer";
import { CheckboxField, RadioGroupField, TextAreaField, TextField } from "../components/Field";
import { useBackend } from "../lib/backendContext";
import {
  ACTION_STATUS_LABELS,
  ACTION_STATUSES,
  CONTRACT_LABELS,
  CONTRACT_TYPES,
  frenchDateTime,
  frenchDay,
  GRADE_LABELS,
  GRADES,
  ORIENTATION_HINTS,
  ORIENTATION_LABELS,
  ORIENTATIONS,
  QUALIFICATION_LABELS,
  QUALIFICATION_LEVELS,
  ROLE_LABELS,
  SIGNER_LABELS,
  VISIBILITY_LABELS,
  WORKING_TIME_LABELS,
  WORKING_TIMES,
} from "../lib/diagnosticLabels";
import { fr, frenchDate, fullName } from "../lib/format";
import { type IpcError, toIpcError } from "../lib/ipc";
import { diagnosticHref, navigate, personHref, useDocumentTitle } from "../lib/route";
import { type DiagnosticSaves, useDiagnosticSaves } from "../lib/useDiagnosticSaves";

interface Step {
  key: string;
  label: string;
  theme?: ReferentielTheme;
}

function stepsOf(ref: Referentiel): Step[] {
  return [
    { key: "entretien", label: "Entretien" },
    ...ref.themes.map((theme) => ({ key: theme.key, label: theme.label, theme })),
    { key: "mots", label: "Ses mots" },
    { key: "projet", label: "Projet professionnel" },
    { key: "orientation", label: "Orientation" },
    { key: "plan", label: "Plan d’action" },
    { key: "consentement", label: "Consentement" },
    { key: "synthese", label: "Synthèse et signatures" },
  ];
}

function newId(): string {
  return crypto.randomUUID();
}

export function DiagnosticScreen({ id, step }: { id: string; step: string | null }) {
  const backend = useBackend();
  const [loaded, setLoaded] = useState<{ diag: Diagnostic; person: Person; ref: Referentiel } | null>(null);
  const [loadError, setLoadError] = useState<IpcError | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const diag = await backend.getDiagnostic(id);
      const [person, ref] = await Promise.all([backend.getPerson(diag.person_id), backend.referentiel()]);
      if (!cancelled) setLoaded({ diag, person, ref });
    })().catch((raw: unknown) => {
      if (!cancelled) setLoadError(toIpcError(raw));
    });
    return () => {
      cancelled = true;
    };
  }, [backend, id]);

  useDocumentTitle(loaded ? `Diagnostic de ${fullName(loaded.person)}` : "Diagnostic");

  if (loadError) {
    return (
      <div className="narrow">
        <h1>Diagnostic introuvable</h1>
        <p role="alert" className="alert alert--error">
          {fr(loadError.message)}
        </p>
      </div>
    );
  }
  if (!loaded) {
    return (
      <div className="narrow">
        <h1>Diagnostic</h1>
        <p role="status">Chargement du diagnostic…</p>
      </div>
    );
  }
  return <Interview initial={loaded.diag} person={loaded.person} referentiel={loaded.ref} stepKey={step} />;
}

function Interview({
  initial,
  person,
  referentiel,
  stepKey,
}: {
  initial: Diagnostic;
  person: Person;
  referentiel: Referentiel;
  stepKey: string | null;
}) {
  const backend = useBackend();
  const saves = useDiagnosticSaves(backend, initial);
  const { diag } = saves;
  const steps = stepsOf(referentiel);
  const index = Math.max(
    0,
    steps.findIndex((s) => s.key === stepKey),
  );
  const current: Step = steps[index] ?? { key: "entretien", label: "Entretien" };
  const readOnly = diag.status === "finalised";
  const heading = useRef<HTMLHeadingElement>(null);
  const stepHeading = useRef<HTMLHeadingElement>(null);
  const shownStep = useRef(current.key);
  const [amendError, setAmendError] = useState<string | null>(null);
  const { flushAll } = saves;

  useEffect(() => {
    heading.current?.focus();
  }, []);

  // After a step change, focus its heading so a screen reader announces it and Tab starts there.
  useEffect(() => {
    if (shownStep.current === current.key) return;
    shownStep.current = current.key;
    void flushAll();
    stepHeading.current?.focus();
  }, [current.key, flushAll]);

  const goTo = (key: string) => navigate(diagnosticHref(diag.id, key));
  const prev = steps[index - 1];
  const next = steps[index + 1];

  const amend = async () => {
    setAmendError(null);
    try {
      const draft = await backend.amendDiagnostic(diag.id);
      navigate(diagnosticHref(draft.id));
    } catch (raw) {
      const error = toIpcError(raw);
      if (error.code === "draft_exists") {
        // A newer draft of this diagnostic is already open: go there rather than start another.
        const all = await backend.listDiagnostics(diag.person_id).catch(() => []);
        const newer = all.filter((d) => d.series_id === diag.series_id && d.version > diag.version).sort((a, b) => b.version - a.version)[0];
        if (newer) {
          navigate(diagnosticHref(newer.id));
          return;
        }
      }
      setAmendError(error.message);
    }
  };

  const name = fullName(person) || "Personne sans nom";
  const gradeOf = (key: string) => diag.themes.find((t) => t.theme === key)?.grade ?? "not_discussed";

  return (
    <div className="interview">
      <p className="back">
        <a href={personHref(person.id)} className="back-link" data-testid="back-to-person">
          <span aria-hidden="true">← </span>Retour à la fiche de {name}
        </a>
      </p>
      <div className="page-head page-head--sticky interview__head">
        <div>
          <h1 ref={heading} tabIndex={-1} data-testid="diagnostic-heading">
            Diagnostic de {name}
          </h1>
          <p className="interview__meta" data-testid="diagnostic-status">
            {`Version ${diag.version} · `}
            {readOnly ? `Finalisé le ${frenchDay(diag.finalised_at)}` : "Brouillon"}
            {diag.date ? ` · entretien du ${frenchDate(diag.date)}` : ""}
          </p>
        </div>
        <div className="interview__head-actions">
          {readOnly ? (
            <button type="button" className="button button--primary" onClick={() => void amend()} data-testid="amend">
              Modifier (nouvelle version)
            </button>
          ) : (
            <p
              role="status"
              className={`save-status${saves.statusKind === "error" ? " save-status--error" : ""}${saves.statusKind === "ok" ? " save-status--ok" : ""}`}
              data-testid="save-status"
            >
              {fr(saves.statusText)}
            </p>
          )}
        </div>
      </div>
      {amendError ? (
        <p role="alert" className="alert alert--error">
          {fr(amendError)}
        </p>
      ) : null}
      {readOnly ? (
        <p className="alert alert--info">
          {fr("Ce diagnostic est finalisé : il ne peut plus être modifié. Pour le corriger, créez une nouvelle version.")}
        </p>
      ) : null}
      {diag.version >= 2 && diag.changes.length > 0 ? <Changes diag={diag} /> : null}
      <div className="interview__body">
        <nav className="steps" aria-label="Étapes du diagnostic">
          <ol>
            {steps.map((s, i) => {
              const grade = s.theme ? gradeOf(s.key) : null;
              return (
                <li key={s.key}>
                  <a
                    href={diagnosticHref(diag.id, s.key)}
                    aria-current={i === index ? "step" : undefined}
                    className={`steps__link${i === index ? " steps__link--current" : ""}`}
                    data-testid={`step-${s.key}`}
                  >
                    <span className="steps__label">{fr(s.label)}</span>
                    {grade && grade !== "not_discussed" ? (
                      <span className={`steps__grade steps__grade--${grade}`}>{GRADE_LABELS[grade]}</span>
                    ) : null}
                  </a>
                </li>
              );
            })}
          </ol>
        </nav>
        <section className="step card" aria-labelledby="step-heading">
          <h2 id="step-heading" ref={stepHeading} tabIndex={-1} data-testid="step-heading">
            {fr(current.label)}
          </h2>
          <fieldset disabled={readOnly} className="step__content">
            <legend className="visually-hidden">{fr(current.label)}</legend>
            <StepContent step={current} saves={saves} referentiel={referentiel} person={person} readOnly={readOnly} />
          </fieldset>
          <div className="step__nav">
            {prev ? (
              <button type="button" className="button" onClick={() => goTo(prev.key)} data-testid="previous-step">
                <span aria-hidden="true">←</span> Étape précédente
              </button>
            ) : (
              <span />
            )}
            {next ? (
              <button type="button" className="button button--primary" onClick={() => goTo(next.key)} data-testid="next-step">
                Étape suivante<span className="visually-hidden">{fr(` : ${next.label}`)}</span> <span aria-hidden="true">→</span>
              </button>
            ) : null}
          </div>
        </section>
      </div>
    </div>
  );
}

function StepContent(props: { step: Step; saves: DiagnosticSaves; referentiel: Referentiel; person: Person; readOnly: boolean }) {
  const { step } = props;
  if (step.theme) return <ThemeStep theme={step.theme} saves={props.saves} />;
  switch (step.key) {
    case "entretien":
      return <InterviewStep saves={props.saves} />;
    case "mots":
      return <WordsStep saves={props.saves} person={props.person} />;
    case "projet":
      return <ProjectStep saves={props.saves} />;
    case "orientation":
      return <OrientationStep saves={props.saves} />;
    case "plan":
      return <PlanStep saves={props.saves} referentiel={props.referentiel} />;
    case "consentement":
      return <ConsentStep saves={props.saves} />;
    default:
      return <SummaryStep saves={props.saves} referentiel={props.referentiel} readOnly={props.readOnly} />;
  }
}

/** Props for a text input bound to a scalar field of the diagnostic. */
function fieldText(saves: DiagnosticSaves, field: DiagnosticField, saved: string) {
  const key = `field:${field}`;
  return {
    value: saves.draft(key, saved),
    error: saves.errors[key] ?? null,
    onValueChange: (value: string) => saves.typeText(key, value, (v) => ({ kind: "set_field", field, value: v })),
    onBlur: () => saves.flushKey(key),
    "data-testid": `field-${field}`,
  };
}

function fieldChoice(saves: DiagnosticSaves, field: DiagnosticField, saved: string) {
  const key = `field:${field}`;
  return {
    value: saves.draft(key, saved),
    error: saves.errors[key] ?? null,
    onValueChange: (value: string) => void saves.choose(key, value, { kind: "set_field", field, value }),
  };
}

function InterviewStep({ saves }: { saves: DiagnosticSaves }) {
  const { diag } = saves;
  const cw = diag.caseworker;
  return (
    <div className="step__stack">
      <div className="row">
        <TextField label="Date de l’entretien" type="date" className="field--short field--date" {...fieldText(saves, "date", diag.date ?? "")} />
        <TextField label="Lieu" autoComplete="off" hint="Exemple : permanence de la mairie de Vaulx-en-Velin." {...fieldText(saves, "place", diag.place)} />
      </div>
      <div className="step__grid">
        <div className="interviewer">
          <h3>Conseiller·e</h3>
          <p data-testid="caseworker-identity">
            {cw.name}, {cw.structure} ({ROLE_LABELS[cw.role].toLowerCase()})
          </p>
          <TextField
            label="Vos coordonnées pour la personne"
            hint="Téléphone, e-mail ou adresse : elles figurent sur le document remis à la personne."
            autoComplete="off"
            {...fieldText(saves, "caseworker_contact", cw.contact)}
          />
        </div>
        <fieldset className="subsection">
          <legend>Co-intervenant·e</legend>
          <p className="hint">{fr("L’autre professionnel·le présent·e à l’entretien, qui n’a pas forcément Tandem.")}</p>
          <TextField label="Nom et prénom" autoComplete="off" {...fieldText(saves, "co_interviewer_name", diag.co_interviewer.name)} />
          <TextField label="Structure" autoComplete="off" {...fieldText(saves, "co_interviewer_structure", diag.co_interviewer.structure)} />
          <TextField label="Coordonnées" hint="Pour que la personne puisse le ou la joindre." autoComplete="off" {...fieldText(saves, "co_interviewer_contact", diag.co_interviewer.contact)} />
          <RadioGroupField
            legend="Domaine"
            name="co-role"
            inline
            options={[
              ["social", ROLE_LABELS.social],
              ["employment", ROLE_LABELS.employment],
            ]}
            {...fieldChoice(saves, "co_interviewer_role", diag.co_interviewer.role ?? "")}
          />
        </fieldset>
      </div>
    </div>
  );
}

function authorName(diag: Diagnostic, author: Interviewer): string {
  if (author === "caseworker") return diag.caseworker.name || "le ou la conseiller·e";
  return `${diag.co_interviewer.name || "co-intervenant·e sans nom"} (co-intervenant·e)`;
}

function ThemeStep({ theme, saves }: { theme: ReferentielTheme; saves: DiagnosticSaves }) {
  const { diag } = saves;
  const assessment = diag.themes.find((t) => t.theme === theme.key);
  const gradeKey = `grade:${theme.key}`;
  const situationsKey = `situations:${theme.key}`;
  const situations = saves.list(situationsKey, assessment?.situations ?? []);
  return (
    <div className="step__stack">
      <RadioGroupField
        legend="Évaluation du frein"
        hint="Ce thème pèse-t-il sur le retour à l’emploi ?"
        name={`grade-${theme.key}`}
        inline
        data-testid={`grade-${theme.key}`}
        value={saves.draft(gradeKey, assessment?.grade ?? "not_discussed")}
        error={saves.errors[gradeKey] ?? null}
        options={GRADES.map((g) => [g, GRADE_LABELS[g]] as const)}
        onValueChange={(g) => void saves.choose(gradeKey, g, { kind: "set_grade", theme: theme.key, grade: g as Grade })}
      />
      {theme.situations.length > 0 ? (
        <fieldset className="field checkbox-group">
          <legend>Situations</legend>
          <p className="hint">Cochez celles qui s’appliquent.</p>
          <div className="checkbox-group__options">
            {theme.situations.map((s) => (
              <CheckboxField
                key={s}
                label={s}
                checked={situations.includes(s)}
                onCheckedChange={(checked) => {
                  const chosen = checked ? [...situations, s] : situations.filter((x) => x !== s);
                  const ordered = theme.situations.filter((x) => chosen.includes(x));
                  void saves.setList(situationsKey, ordered, { kind: "set_situations", theme: theme.key, situations: ordered });
                }}
              />
            ))}
          </div>
          {saves.errors[situationsKey] ? <p className="error">{fr(saves.errors[situationsKey])}</p> : null}
        </fieldset>
      ) : null}
      <Notes theme={theme} saves={saves} />
    </div>
  );
}

interface PendingNote {
  id: string;
  author: Interviewer;
  visibility: NoteVisibility;
}

function Notes({ theme, saves }: { theme: ReferentielTheme; saves: DiagnosticSaves }) {
  const { diag } = saves;
  const [pending, setPending] = useState<PendingNote[]>([]);
  const [author, setAuthor] = useState<Interviewer>("caseworker");
  const [visibility, setVisibility] = useState<NoteVisibility>("shared");
  // Ids whose add_note has left: later keystrokes edit the note instead of adding it again.
  const [created] = useState(() => new Set<string>());
  const [focusId, setFocusId] = useState<string | null>(null);
  const saved = diag.notes.filter((n) => n.theme === theme.key);
  const savedIds = new Set(saved.map((n) => n.id));
  const shown: (Note | PendingNote)[] = [...saved, ...pending.filter((p) => !savedIds.has(p.id))];

  const clearFocus = useCallback(() => setFocusId(null), []);
  const add = () => {
    const note = { id: newId(), author, visibility };
    setFocusId(note.id);
    setPending((prev) => [...prev, note]);
  };

  return (
    <section className="notes" aria-labelledby={`notes-${theme.key}`}>
      <h3 id={`notes-${theme.key}`}>Notes</h3>
      {shown.length === 0 ? <p className="hint">Aucune note pour ce thème.</p> : null}
      <ol className="notes__list">
        {shown.map((n, i) => (
          <li key={n.id} data-testid={`note-${i}`}>
            <NoteEditor
              note={n}
              themeKey={theme.key}
              saves={saves}
              created={created}
              autoFocus={focusId === n.id}
              onFocused={clearFocus}
            />
          </li>
        ))}
      </ol>
      <fieldset className="subsection notes__new edit-only">
        <legend>Nouvelle note</legend>
        <div className="row">
          <RadioGroupField
            legend="Écrite par"
            name={`author-${theme.key}`}
            value={author}
            onValueChange={(v) => setAuthor(v as Interviewer)}
            options={[
              ["caseworker", diag.caseworker.name || "Conseiller·e"],
              ["co_interviewer", `${diag.co_interviewer.name || "Co-intervenant·e"} (co-intervenant·e)`],
            ]}
          />
          <RadioGroupField
            legend="Visibilité"
            name={`visibility-${theme.key}`}
            value={visibility}
            onValueChange={(v) => setVisibility(v as NoteVisibility)}
            options={[
              ["shared", VISIBILITY_LABELS.shared],
              ["social_only", VISIBILITY_LABELS.social_only],
            ]}
          />
        </div>
        <div className="actions">
          <button type="button" className="button" onClick={add} data-testid="add-note">
            <span aria-hidden="true" className="button__icon">
              +
            </span>
            Ajouter une note
          </button>
        </div>
      </fieldset>
    </section>
  );
}

function NoteEditor({
  note,
  themeKey,
  saves,
  created,
  autoFocus,
  onFocused,
}: {
  note: Note | PendingNote;
  themeKey: string;
  saves: DiagnosticSaves;
  created: Set<string>;
  autoFocus: boolean;
  onFocused: () => void;
}) {
  const { diag } = saves;
  const isSaved = "text" in note;
  const textKey = `note:${note.id}`;
  const visKey = `note-visibility:${note.id}`;
  const area = useRef<HTMLTextAreaElement>(null);
  if (isSaved) created.add(note.id);

  useEffect(() => {
    if (autoFocus) {
      area.current?.focus();
      onFocused();
    }
  }, [autoFocus, onFocused]);

  const visibility = saves.draft(visKey, note.visibility) as NoteVisibility;
  return (
    <article className="note">
      <p className="note__meta">
        <span data-testid="note-author">Écrit par {authorName(diag, note.author)}</span>
        <span className="badge">{VISIBILITY_LABELS[visibility]}</span>
      </p>
      <TextAreaField
        label="Texte de la note"
        textareaRef={area}
        value={saves.draft(textKey, isSaved ? note.text : "")}
        error={saves.errors[textKey] ?? null}
        onValueChange={(value) =>
          saves.typeText(textKey, value, (v): DiagnosticEdit | null => {
            if (created.has(note.id)) return { kind: "edit_note", id: note.id, text: v };
            if (v.trim() === "") return null;
            created.add(note.id);
            return { kind: "add_note", id: note.id, theme: themeKey, author: note.author, visibility, text: v };
          })
        }
        onBlur={() => saves.flushKey(textKey)}
      />
      <div className="row note__controls">
        <RadioGroupField
          legend="Visibilité"
          name={`vis-${note.id}`}
          inline
          value={visibility}
          options={[
            ["shared", VISIBILITY_LABELS.shared],
            ["social_only", VISIBILITY_LABELS.social_only],
          ]}
          onValueChange={(v) => {
            if (created.has(note.id)) void saves.choose(visKey, v, { kind: "set_note_visibility", id: note.id, visibility: v as NoteVisibility });
            else saves.typeText(visKey, v, () => null);
          }}
        />
        {isSaved ? (
          <button type="button" className="button button--quiet edit-only" onClick={() => void saves.send(`remove-note:${note.id}`, { kind: "remove_note", id: note.id })}>
            Supprimer la note
          </button>
        ) : null}
      </div>
    </article>
  );
}

function WordsStep({ saves, person }: { saves: DiagnosticSaves; person: Person }) {
  const { diag } = saves;
  return (
    <div className="step__stack">
      <p className="hint">{fr(`Notez ce que ${person.first_name || "la personne"} dit, avec ses mots, sans les reformuler.`)}</p>
      <TextAreaField label="Ce que la personne souhaite" rows={4} {...fieldText(saves, "person_wishes", diag.person_words.wishes)} />
      <TextAreaField label="Ses priorités" rows={4} {...fieldText(saves, "person_priorities", diag.person_words.priorities)} />
    </div>
  );
}

function RomeSearch({ saves }: { saves: DiagnosticSaves }) {
  const backend = useBackend();
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<RomeMatch[] | null>(null);
  const inputId = useId();

  useEffect(() => {
    if (query.trim() === "") return;
    let cancelled = false;
    const timer = setTimeout(() => {
      backend.searchRome(query).then(
        (r) => {
          if (!cancelled) setResults(r);
        },
        () => {
          if (!cancelled) setResults([]);
        },
      );
    }, 200);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [backend, query]);

  const shown = query.trim() === "" ? null : results;
  const chosen = saves.diag.project.target_jobs;
  return (
    <div className="rome">
      <div className="field edit-only">
        <label htmlFor={inputId}>Rechercher un métier</label>
        <p className="hint" id={`${inputId}-hint`}>
          {fr("Par mot du métier ou code du répertoire des métiers de France Travail (ROME). Exemple : cuisine.")}
        </p>
        <input
          id={inputId}
          type="search"
          autoComplete="off"
          value={query}
          aria-describedby={`${inputId}-hint ${inputId}-count`}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="rome-search"
        />
      </div>
      <p className="result-count edit-only" id={`${inputId}-count`} role="status">
        {shown === null ? "" : shown.length === 0 ? "Aucun métier trouvé" : `${shown.length} métier${shown.length > 1 ? "s" : ""} trouvé${shown.length > 1 ? "s" : ""}`}
      </p>
      {shown && shown.length > 0 ? (
        <ul className="rome__results edit-only" aria-label="Métiers trouvés">
          {shown.map((m) => {
            const already = chosen.some((j) => j.code === m.code && j.title === m.title);
            return (
              <li key={`${m.code}-${m.title}`}>
                <button
                  type="button"
                  className="button rome__result"
                  disabled={already}
                  data-testid="rome-result"
                  onClick={() => {
                    void saves.send(`job:${m.code}`, { kind: "add_target_job", code: m.code, title: m.title }).then((ok) => {
                      if (ok) setQuery("");
                    });
                  }}
                >
                  <span>{m.title}</span>
                  <span className="rome__code">
                    {m.code_label ? `${m.code} — ${m.code_label}` : m.code}
                    {already ? " (déjà choisi)" : ""}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      <h3>Métiers visés</h3>
      {chosen.length === 0 ? (
        <p className="hint">Aucun métier choisi pour l’instant.</p>
      ) : (
        <ul className="chips">
          {chosen.map((j) => (
            <li key={`${j.code}-${j.title}`} data-testid="target-job" className="chip">
              <span>
                {j.title} <span className="rome__code">({j.code})</span>
              </span>
              <button
                type="button"
                className="button button--quiet edit-only"
                onClick={() => void saves.send(`job:${j.code}`, { kind: "remove_target_job", code: j.code, title: j.title })}
              >
                Retirer<span className="visually-hidden"> {j.title}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {Object.entries(saves.errors)
        .filter(([k]) => k.startsWith("job:"))
        .map(([k, m]) => (
          <p key={k} className="error">
            {fr(m)}
          </p>
        ))}
    </div>
  );
}

function ProjectStep({ saves }: { saves: DiagnosticSaves }) {
  const { diag } = saves;
  const p = diag.project;
  const contractKey = "contract-types";
  const contracts = saves.list(contractKey, p.contract_types);
  const qualification = fieldChoice(saves, "qualification_level", p.qualification_level ?? "");
  const qualificationId = useId();
  return (
    <div className="step__stack">
      <RomeSearch saves={saves} />
      <fieldset className="field checkbox-group">
        <legend>Types de contrat recherchés</legend>
        <div className="checkbox-group__options checkbox-group__options--two">
          {CONTRACT_TYPES.map((c) => (
            <CheckboxField
              key={c}
              label={CONTRACT_LABELS[c]}
              checked={contracts.includes(c)}
              onCheckedChange={(checked) => {
                const chosen = checked ? [...contracts, c] : contracts.filter((x) => x !== c);
                const ordered = CONTRACT_TYPES.filter((x) => chosen.includes(x));
                void saves.setList(contractKey, ordered, { kind: "set_contract_types", contract_types: ordered });
              }}
            />
          ))}
        </div>
      </fieldset>
      <div className="step__grid">
        <RadioGroupField
          legend="Temps de travail"
          name="working-time"
          options={WORKING_TIMES.map((w) => [w, WORKING_TIME_LABELS[w]] as const)}
          {...fieldChoice(saves, "working_time", p.working_time ?? "")}
        />
        <div className="step__stack">
          <TextField
            label="Distance maximale de déplacement (km)"
            hint="En kilomètres depuis le domicile."
            inputMode="numeric"
            autoComplete="off"
            className="field--short"
            {...fieldText(saves, "mobility_radius_km", p.mobility_radius_km === null ? "" : String(p.mobility_radius_km))}
          />
          <div className={`field${qualification.error ? " field--invalid" : ""}`}>
            <label htmlFor={qualificationId}>Niveau de qualification</label>
            <select
              id={qualificationId}
              value={qualification.value}
              onChange={(e) => qualification.onValueChange(e.target.value)}
              data-testid="field-qualification_level"
            >
              <option value="">Non renseigné</option>
              {QUALIFICATION_LEVELS.map((q) => (
                <option key={q} value={q}>
                  {fr(QUALIFICATION_LABELS[q])}
                </option>
              ))}
            </select>
            {qualification.error ? <p className="error">{fr(qualification.error)}</p> : null}
          </div>
        </div>
      </div>
      <TextAreaField label="Expérience" {...fieldText(saves, "experience", p.experience)} />
      <TextAreaField label="Compétences" {...fieldText(saves, "skills", p.skills)} />
      <TextAreaField label="Disponibilité" hint="Exemple : dès le mois prochain, le matin seulement." {...fieldText(saves, "availability", p.availability)} />
    </div>
  );
}

function OrientationStep({ saves }: { saves: DiagnosticSaves }) {
  const { diag } = saves;
  const s = diag.suggestion;
  return (
    <div className="orientation">
      <aside className="suggestion" aria-labelledby="suggestion-title" data-testid="suggestion">
        <h3 id="suggestion-title">Suggestion de Tandem</h3>
        {s ? (
          <>
            <p className="suggestion__value">{ORIENTATION_LABELS[s.orientation]}</p>
            <p className="hint">Calculée à partir des freins notés. La décision revient aux professionnels.</p>
            <h4>Raisons</h4>
            <ul>
              {s.reasons.map((r) => (
                <li key={r}>{fr(r)}</li>
              ))}
            </ul>
          </>
        ) : (
          <p>{fr("Pas encore de suggestion : aucun thème n’a été évalué.")}</p>
        )}
      </aside>
      <div className="step__stack">
        <RadioGroupField
          legend="Orientation proposée par les professionnels"
          name="orientation"
          options={ORIENTATIONS.map((o) => [o, <OrientationOption key={o} label={ORIENTATION_LABELS[o]} hint={ORIENTATION_HINTS[o]} />] as const)}
          {...fieldChoice(saves, "orientation", diag.orientation.proposal ?? "")}
        />
        <TextAreaField label="Raisons de ce choix" rows={4} {...fieldText(saves, "orientation_reasons", diag.orientation.reasons)} />
      </div>
    </div>
  );
}

function OrientationOption({ label, hint }: { label: string; hint: string }) {
  return (
    <>
      <strong>{label}</strong> <span className="option-hint">— {fr(hint)}</span>
    </>
  );
}

function PlanStep({ saves, referentiel }: { saves: DiagnosticSaves; referentiel: Referentiel }) {
  const { diag } = saves;
  const [choice, setChoice] = useState("");
  const selectId = useId();
  const grade = (key: string) => diag.themes.find((t) => t.theme === key)?.grade ?? "not_discussed";
  const isObstacle = (key: string) => grade(key) === "obstacle_medium" || grade(key) === "obstacle_strong";
  const themes = referentiel.themes.filter((t) => t.objectives.length > 0);
  const ordered = [...themes.filter((t) => isObstacle(t.key)), ...themes.filter((t) => !isObstacle(t.key))];
  const addError = saves.errors["add-objective"];

  const add = () => {
    const [theme, ...rest] = choice.split("\u0000");
    const label = rest.join("");
    if (!theme || !label) return;
    void saves.send("add-objective", { kind: "add_objective", id: newId(), theme, label }).then((ok) => {
      if (ok) setChoice("");
    });
  };

  return (
    <div className="step__stack">
      <div className="field objective-picker edit-only">
        <label htmlFor={selectId}>Objectif à ajouter</label>
        <p className="hint" id={`${selectId}-hint`}>
          Objectifs du référentiel national, thème par thème ; les thèmes où un frein a été noté viennent en premier.
        </p>
        <div className="row row--end">
          <select
            id={selectId}
            value={choice}
            aria-describedby={`${selectId}-hint`}
            onChange={(e) => setChoice(e.target.value)}
            data-testid="objective-select"
          >
            <option value="">Choisir un objectif…</option>
            {ordered.map((t) => (
              <optgroup key={t.key} label={isObstacle(t.key) ? `${t.label} (${GRADE_LABELS[grade(t.key)].toLowerCase()})` : t.label}>
                {t.objectives.map((o) => (
                  <option key={o} value={`${t.key}\u0000${o}`}>
                    {o}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
          <button type="button" className="button" onClick={add} disabled={choice === ""} data-testid="add-objective">
            Ajouter l’objectif
          </button>
        </div>
        {addError ? <p className="error">{fr(addError)}</p> : null}
      </div>
      {diag.plan.length === 0 ? <p className="hint">Aucun objectif pour l’instant.</p> : null}
      {diag.plan.map((o) => {
        const theme = referentiel.themes.find((t) => t.key === o.theme);
        return (
          <ObjectiveCard
            key={o.id}
            objectiveId={o.id}
            label={o.label}
            themeLabel={theme?.label ?? o.theme}
            suggestions={theme?.actions ?? []}
            actions={o.actions}
            saves={saves}
          />
        );
      })}
    </div>
  );
}

function ObjectiveCard({
  objectiveId,
  label,
  themeLabel,
  suggestions,
  actions,
  saves,
}: {
  objectiveId: string;
  label: string;
  themeLabel: string;
  suggestions: string[];
  actions: PlanAction[];
  saves: DiagnosticSaves;
}) {
  const [pending, setPending] = useState<string[]>([]);
  const [created] = useState(() => new Set<string>());
  const listId = useId();
  const savedIds = new Set(actions.map((a) => a.id));
  const shown: (PlanAction | { id: string })[] = [...actions, ...pending.filter((p) => !savedIds.has(p)).map((id) => ({ id }))];
  const headingId = useId();
  return (
    <section className="objective" aria-labelledby={headingId} data-testid="objective">
      <div className="objective__head">
        <div>
          <h3 id={headingId}>{fr(label)}</h3>
          <p className="hint">Thème : {fr(themeLabel)}</p>
        </div>
        <button type="button" className="button button--quiet edit-only" onClick={() => void saves.send(`objective:${objectiveId}`, { kind: "remove_objective", id: objectiveId })}>
          Retirer l’objectif
        </button>
      </div>
      {suggestions.length > 0 ? (
        <datalist id={listId}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      ) : null}
      <ol className="objective__actions">
        {shown.map((a, i) => (
          <li key={a.id} data-testid="action">
            <ActionRow
              action={"label" in a ? a : null}
              id={a.id}
              index={i + 1}
              objectiveId={objectiveId}
              listId={suggestions.length > 0 ? listId : undefined}
              created={created}
              saves={saves}
            />
          </li>
        ))}
      </ol>
      <button type="button" className="button edit-only" onClick={() => setPending((p) => [...p, newId()])} data-testid="add-action">
        <span aria-hidden="true" className="button__icon">
          +
        </span>
        Ajouter une action<span className="visually-hidden"> à l’objectif {label}</span>
      </button>
    </section>
  );
}

function ActionRow({
  action,
  id,
  index,
  objectiveId,
  listId,
  created,
  saves,
}: {
  action: PlanAction | null;
  id: string;
  index: number;
  objectiveId: string;
  listId: string | undefined;
  created: Set<string>;
  saves: DiagnosticSaves;
}) {
  if (action) created.add(id);
  const labelKey = `action:${id}:label`;
  const statusId = useId();
  const field = (f: "who" | "due_date", saved: string) => {
    const key = `action:${id}:${f}`;
    return {
      value: saves.draft(key, saved),
      error: saves.errors[key] ?? null,
      onValueChange: (value: string) => saves.typeText(key, value, (v) => ({ kind: "set_action_field", id, field: f, value: v })),
      onBlur: () => saves.flushKey(key),
    };
  };
  const statusKey = `action:${id}:status`;
  const labelFocus = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!action) labelFocus.current?.focus();
    // Only when a new action row appears.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <fieldset className="action-row">
      <legend>Action {index}</legend>
      <TextField
        label="Action"
        list={listId}
        autoComplete="off"
        inputRef={labelFocus}
        className="action-row__label"
        value={saves.draft(labelKey, action?.label ?? "")}
        error={saves.errors[labelKey] ?? null}
        onValueChange={(value) =>
          saves.typeText(labelKey, value, (v): DiagnosticEdit | null => {
            if (created.has(id)) return { kind: "set_action_field", id, field: "label", value: v };
            if (v.trim() === "") return null;
            created.add(id);
            return { kind: "add_action", id, objective_id: objectiveId, label: v };
          })
        }
        onBlur={() => saves.flushKey(labelKey)}
      />
      <TextField label="Qui" hint="La personne, une structure…" autoComplete="off" disabled={!action} {...field("who", action?.who ?? "")} />
      <TextField label="Pour le" type="date" disabled={!action} {...field("due_date", action?.due_date ?? "")} />
      <div className="field">
        <label htmlFor={statusId}>État</label>
        <select
          id={statusId}
          disabled={!action}
          value={saves.draft(statusKey, action?.status ?? "planned")}
          onChange={(e) => void saves.choose(statusKey, e.target.value, { kind: "set_action_field", id, field: "status", value: e.target.value })}
        >
          {ACTION_STATUSES.map((s) => (
            <option key={s} value={s}>
              {ACTION_STATUS_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      {action ? (
        <button type="button" className="button button--quiet action-row__remove edit-only" onClick={() => void saves.send(`action:${id}`, { kind: "remove_action", id })}>
          Retirer<span className="visually-hidden"> l’action {index}</span>
        </button>
      ) : (
        <p className="hint action-row__remove">{fr("Écrivez l’action : les autres champs s’ouvrent ensuite.")}</p>
      )}
    </fieldset>
  );
}

function ConsentStep({ saves }: { saves: DiagnosticSaves }) {
  const { diag } = saves;
  const c = diag.consent;
  const [structure, setStructure] = useState("");
  const structuresKey = "consent-structures";
  const structures = saves.list(structuresKey, c.structures);
  const sharing = fieldChoice(saves, "consent_sharing", c.sharing === null ? "" : String(c.sharing));
  const shareSocialKey = "field:consent_share_social_notes";
  const addStructure = () => {
    const name = structure.trim();
    if (name === "" || structures.includes(name)) return;
    const nextList = [...structures, name];
    void saves.setList(structuresKey, nextList, { kind: "set_consent_structures", structures: nextList }).then((ok) => {
      if (ok) setStructure("");
    });
  };
  return (
    <div className="step__stack">
      <RadioGroupField
        legend="La personne accepte-t-elle que son dossier soit partagé avec les structures qui l’accompagnent ?"
        hint="Sans son accord, le dossier reste sur cet ordinateur."
        name="consent"
        options={[
          ["true", "Oui, elle accepte le partage"],
          ["false", "Non, le dossier reste sur cet ordinateur"],
        ]}
        {...sharing}
      />
      {sharing.value === "true" ? (
        <>
          <fieldset className="subsection">
            <legend>Structures qui peuvent voir le dossier</legend>
            {structures.length === 0 ? <p className="hint">Aucune structure pour l’instant.</p> : null}
            <ul className="chips">
              {structures.map((s) => (
                <li key={s} className="chip" data-testid="consent-structure">
                  <span>{s}</span>
                  <button
                    type="button"
                    className="button button--quiet edit-only"
                    onClick={() => {
                      const nextList = structures.filter((x) => x !== s);
                      void saves.setList(structuresKey, nextList, { kind: "set_consent_structures", structures: nextList });
                    }}
                  >
                    Retirer<span className="visually-hidden"> {s}</span>
                  </button>
                </li>
              ))}
            </ul>
            <div className="row row--end edit-only">
              <TextField
                label="Nom de la structure"
                autoComplete="off"
                value={structure}
                onValueChange={setStructure}
                onKeyDown={(e) => {
                  if (e.key === "Enter") {
                    e.preventDefault();
                    addStructure();
                  }
                }}
              />
              <button type="button" className="button" onClick={addStructure} data-testid="add-structure">
                Ajouter la structure
              </button>
            </div>
          </fieldset>
          <CheckboxField
            label="Partager aussi les notes réservées au travail social avec les professionnels de l’emploi"
            checked={saves.draft(shareSocialKey, String(c.share_social_notes)) === "true"}
            error={saves.errors[shareSocialKey] ?? null}
            onCheckedChange={(checked) =>
              void saves.choose(shareSocialKey, String(checked), { kind: "set_field", field: "consent_share_social_notes", value: String(checked) })
            }
          />
        </>
      ) : null}
    </div>
  );
}

const SIGNERS: Signer[] = ["person", "caseworker", "co_interviewer"];

function SummaryStep({ saves, referentiel, readOnly }: { saves: DiagnosticSaves; referentiel: Referentiel; readOnly: boolean }) {
  const backend = useBackend();
  const { diag } = saves;
  const [refusal, setRefusal] = useState<string | null>(null);
  const discussed = diag.themes.filter((t) => t.grade !== "not_discussed");
  const themeLabel = (key: string) => referentiel.themes.find((t) => t.key === key)?.label ?? key;

  const finalise = async () => {
    setRefusal(null);
    await saves.flushAll();
    try {
      saves.replace(await backend.finaliseDiagnostic(diag.id));
    } catch (raw) {
      setRefusal(toIpcError(raw).message);
    }
  };

  return (
    <div className="step__stack summary">
      <SummaryBlock title="Thèmes abordés">
        {discussed.length === 0 ? (
          <p>Aucun thème évalué.</p>
        ) : (
          <ul>
            {discussed.map((t) => (
              <li key={t.theme}>
                <strong>{fr(themeLabel(t.theme))}</strong>
                {fr(` : ${GRADE_LABELS[t.grade]}`)}
                {t.situations.length > 0 ? ` — ${t.situations.join(", ")}` : ""}
              </li>
            ))}
          </ul>
        )}
      </SummaryBlock>
      <SummaryBlock title="Orientation">
        <p data-testid="summary-orientation">
          {diag.orientation.proposal ? ORIENTATION_LABELS[diag.orientation.proposal] : "Pas encore choisie"}
          {diag.suggestion ? ` (suggestion de Tandem : ${ORIENTATION_LABELS[diag.suggestion.orientation].toLowerCase()})` : ""}
        </p>
        {diag.orientation.reasons ? <p className="prewrap">{diag.orientation.reasons}</p> : null}
      </SummaryBlock>
      <SummaryBlock title="Plan d’action">
        {diag.plan.length === 0 ? (
          <p>Aucun objectif.</p>
        ) : (
          <ul>
            {diag.plan.map((o) => (
              <li key={o.id}>
                <strong>{fr(o.label)}</strong> <span className="hint">({fr(themeLabel(o.theme))})</span>
                {o.actions.length > 0 ? (
                  <ul>
                    {o.actions.map((a) => (
                      <li key={a.id}>
                        {a.label}
                        {a.who ? ` — ${a.who}` : ""}
                        {a.due_date ? `, pour le ${frenchDate(a.due_date)}` : ""} ({ACTION_STATUS_LABELS[a.status].toLowerCase()})
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </SummaryBlock>
      <SummaryBlock title="Consentement">
        <p>
          {diag.consent.sharing === null
            ? "Pas encore décidé"
            : diag.consent.sharing
              ? `Partage accepté${diag.consent.structures.length > 0 ? ` avec : ${diag.consent.structures.join(", ")}` : ""}`
              : "Partage refusé : le dossier reste sur cet ordinateur"}
        </p>
      </SummaryBlock>
      {!readOnly ? (
        diag.missing.length > 0 ? (
          <div className="alert alert--warning" data-testid="missing">
            <p>
              <strong>{fr("Il manque encore :")}</strong>
            </p>
            <ul>
              {diag.missing.map((m) => (
                <li key={m}>{fr(m)}</li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="alert alert--ok" data-testid="missing">
            Tout est prêt : le diagnostic peut être finalisé.
          </p>
        )
      ) : null}
      <TextField
        label="Prochain rendez-vous"
        hint="Exemple : mardi 8 décembre à 10 h, au CCAS. Il figure sur le document remis à la personne."
        autoComplete="off"
        disabled={readOnly}
        {...fieldText(saves, "next_appointment", diag.next_appointment)}
      />
      <section aria-labelledby="signatures-title">
        <h3 id="signatures-title">Signatures</h3>
        <p className="hint">{fr("Chacun tape son nom pour signer. Toute modification du contenu retire les signatures.")}</p>
        <div className="signoffs">
          {SIGNERS.map((s) => (
            <SignOffBlock key={s} signer={s} saves={saves} />
          ))}
        </div>
      </section>
      {!readOnly ? (
        <div className="finalise">
          <button type="button" className="button button--primary" onClick={() => void finalise()} data-testid="finalise">
            Finaliser le diagnostic
          </button>
          {refusal ? (
            <div role="alert" className="alert alert--error" data-testid="finalise-error">
              <p>{fr("Le diagnostic ne peut pas encore être finalisé.")}</p>
              <p>{fr(refusal)}</p>
            </div>
          ) : null}
        </div>
      ) : (
        <p data-testid="finalised-at">{`Finalisé le ${frenchDateTime(diag.finalised_at)}.`}</p>
      )}
      <PrintBlock diag={diag} flush={saves.flushAll} />
    </div>
  );
}

/** « Imprimer » and « Enregistrer en PDF » for both summaries; a failed print offers to save. */
function PrintBlock({ diag, flush }: { diag: Diagnostic; flush: () => Promise<unknown> }) {
  const backend = useBackend();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string; offerSave?: Audience } | null>(null);
  const LABELS: Record<Audience, string> = { person: "le document de la personne", professional: "la version complète" };

  const print = async (audience: Audience) => {
    if (busy) return;
    setBusy(true);
    setMessage(null);
    try {
      await flush();
      await backend.printDiagnostic(diag.id, audience);
      setMessage({ kind: "ok", text: `Impression de ${LABELS[audience]} lancée.` });
    } catch (raw) {
      const e = toIpcError(raw);
      setMessage({ kind: "error", text: e.message, offerSave: e.code === "print_failed" ? audience : undefined });
    } finally {
      setBusy(false);
    }
  };
  const save = async (audience: Audience) => {
    if (busy) return;
    setBusy(true);
    setMessage(null);
    try {
      await flush();
      const name = await backend.saveDiagnosticPdf(diag.id, audience);
      if (name) setMessage({ kind: "ok", text: `Enregistré : ${name}` });
    } catch (raw) {
      setMessage({ kind: "error", text: toIpcError(raw).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="print-title" className="print-block" data-testid="print-block">
      <h3 id="print-title">Documents</h3>
      <p className="hint">{fr("Le document de la personne est écrit en mots simples ; la version complète est réservée aux professionnels.")}</p>
      <div className="row">
        <button type="button" className="button button--primary" onClick={() => void print("person")} aria-disabled={busy || undefined} data-testid="print-person">
          Imprimer le document de la personne
        </button>
        <button type="button" className="button" onClick={() => void save("person")} aria-disabled={busy || undefined} data-testid="save-person">
          Enregistrer en PDF
          <span className="visually-hidden"> le document de la personne</span>
        </button>
      </div>
      <div className="row">
        <button type="button" className="button" onClick={() => void print("professional")} aria-disabled={busy || undefined} data-testid="print-professional">
          Imprimer la version complète
        </button>
        <button type="button" className="button" onClick={() => void save("professional")} aria-disabled={busy || undefined} data-testid="save-professional">
          Enregistrer en PDF
          <span className="visually-hidden"> la version complète</span>
        </button>
      </div>
      <div role="status" aria-live="polite">
        {message ? (
          <div className={`alert ${message.kind === "ok" ? "alert--ok" : "alert--error"}`} data-testid="print-message">
            <p>{fr(message.text)}</p>
            {message.offerSave ? (
              <button type="button" className="button" onClick={() => void save(message.offerSave as Audience)} data-testid="save-instead">
                Enregistrer en PDF à la place
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
    </section>
  );
}

function SummaryBlock({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="summary__block">
      <h3>{fr(title)}</h3>
      {children}
    </section>
  );
}

function SignOffBlock({ signer, saves }: { signer: Signer; saves: DiagnosticSaves }) {
  const { diag } = saves;
  const signed = diag.signoffs.find((s) => s.signer === signer);
  const [name, setName] = useState("");
  const key = `signoff:${signer}`;
  const who =
    signer === "person" ? "La personne" : signer === "caseworker" ? diag.caseworker.name || "Le ou la conseiller·e" : diag.co_interviewer.name || "Le ou la co-intervenant·e";
  const sign = () =>
    void saves.send(key, { kind: "sign_off", signer, name }).then((ok) => {
      if (ok) setName("");
    });
  return (
    <div className="signoff" data-testid={`signoff-${signer}`}>
      <p className="signoff__who">{who}</p>
      {signed ? (
        <>
          <p className="signoff__done">
            {fr(`Signé par ${signed.name}`)}
            <br />
            <span className="hint">le {frenchDateTime(signed.signed_at)}</span>
          </p>
          <button type="button" className="button button--quiet edit-only" onClick={() => void saves.send(key, { kind: "withdraw_sign_off", signer })}>
            Retirer la signature
          </button>
        </>
      ) : (
        <>
          <TextField
            label={SIGNER_LABELS[signer]}
            autoComplete="off"
            value={name}
            error={saves.errors[key] ?? null}
            onValueChange={setName}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                sign();
              }
            }}
          />
          <button type="button" className="button" onClick={sign} data-testid={`sign-${signer}`}>
            Signer
          </button>
        </>
      )}
    </div>
  );
}

function Changes({ diag }: { diag: Diagnostic }) {
  // Keystrokes of one field make several records: show each change once, with its latest time.
  const latest = new Map<string, { what: string; by: string; at: string }>();
  for (const c of diag.changes) latest.set(`${c.what}\u0000${c.by}`, c);
  const items = [...latest.values()];
  return (
    <details className="changes">
      <summary data-testid="changes-summary">{fr(`Modifications de la version ${diag.version} : ${items.length}`)}</summary>
      <ul data-testid="changes">
        {items.map((c) => (
          <li key={`${c.what}-${c.by}`}>{fr(`${c.what} par ${c.by} le ${frenchDateTime(c.at)}`)}</li>
        ))}
      </ul>
    </details>
  );
}
