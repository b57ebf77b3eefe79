import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Person } from "../bindings/Person";
import type { PersonField } from "../bindings/PersonField";
import type { RsaStatus } from "../bindings/RsaStatus";
import { CheckboxField, TextField } from "../components/Field";
import { PersonDeletion } from "../components/PersonDeletion";
import { PersonDiagnostics } from "../components/PersonDiagnostics";
import { PersonSharing } from "../components/PersonSharing";
import { useBackend } from "../lib/backendContext";
import type { IpcError } from "../lib/ipc";
import { ageFromIso, fr, fullName } from "../lib/format";
import { registerFlusher } from "../lib/pendingSaves";
import { CASELOAD_HREF, followUpHref, useDocumentTitle } from "../lib/route";

/** Text is saved this long after the last keystroke; checkboxes and selects at once. */
export const AUTOSAVE_DELAY_MS = 500;

const FIELDS: readonly PersonField[] = [
  "first_name",
  "last_name",
  "birth_date",
  "email",
  "phone",
  "address",
  "postal_code",
  "commune",
  "commune_insee",
  "caf_number",
  "france_travail_id",
  "rsa_status",
  "rsa_since",
  "job_seeker",
  "job_seeker_since",
  "rqth",
  "rqth_until",
  "droits_devoirs",
  "qpv",
];

type Drafts = Record<PersonField, string>;
type Errors = Partial<Record<PersonField, string>>;

function toDrafts(p: Person): Drafts {
  const out = {} as Drafts;
  for (const f of FIELDS) {
    const v = p[f];
    out[f] = typeof v === "boolean" ? String(v) : (v ?? "");
  }
  return out;
}

const INCOMPLETE_DATE = "Cette date est incomplète. Exemple : 14/07/1985.";

export function PersonForm({ id }: { id: string }) {
  const backend = useBackend();
  const [person, setPerson] = useState<Person | null>(null);
  const [loadError, setLoadError] = useState<IpcError | null>(null);
  const [drafts, setDrafts] = useState<Drafts | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [pending, setPending] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [savedOnce, setSavedOnce] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  const timers = useRef(new Map<PersonField, { timer: ReturnType<typeof setTimeout>; value: string }>());
  const seqs = useRef(new Map<PersonField, number>());
  const queue = useRef<Promise<void>>(Promise.resolve());
  const pendingCount = useRef(0);
  const incompleteDates = useRef(new Set<PersonField>());

  useDocumentTitle(person ? fullName(person) : "Fiche personne");

  useEffect(() => {
    let cancelled = false;
    backend.getPerson(id).then(
      (p) => {
        if (cancelled) return;
        setPerson(p);
        setDrafts(toDrafts(p));
      },
      (e: IpcError) => {
        if (!cancelled) setLoadError(e);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [backend, id]);

  const loaded = person !== null;
  useEffect(() => {
    if (loaded) heading.current?.focus();
  }, [loaded]);

  const changePending = useCallback((delta: number) => {
    pendingCount.current += delta;
    setPending(pendingCount.current);
  }, []);

  /** Saves one value after the saves already queued: the case file sees edits in the order they were made. */
  const enqueue = useCallback(
    (field: PersonField, value: string) => {
      const seq = (seqs.current.get(field) ?? 0) + 1;
      seqs.current.set(field, seq);
      const latest = () => seqs.current.get(field) === seq;
      queue.current = queue.current.then(async () => {
        try {
          const saved = await backend.updatePersonField(id, field, value);
          setPerson(saved);
          setSavedOnce(true);
          setProblem(null);
          if (latest()) {
            setErrors((prev) => {
              if (!(field in prev)) return prev;
              const { [field]: _cleared, ...rest } = prev;
              return rest;
            });
          }
        } catch (raw) {
          const error = raw as IpcError;
          if (error.code === "validation") {
            if (latest()) {
              const target = error.field && (FIELDS as readonly string[]).includes(error.field) ? (error.field as PersonField) : field;
              setErrors((prev) => ({ ...prev, [target]: error.message }));
            }
          } else {
            setProblem(error.message);
          }
        } finally {
          changePending(-1);
        }
      });
    },
    [backend, id, changePending],
  );

  const cancelScheduled = useCallback(
    (field: PersonField) => {
      const scheduled = timers.current.get(field);
      if (!scheduled) return;
      clearTimeout(scheduled.timer);
      timers.current.delete(field);
      changePending(-1);
    },
    [changePending],
  );

  const schedule = useCallback(
    (field: PersonField, value: string, delay: number) => {
      const scheduled = timers.current.get(field);
      if (scheduled) clearTimeout(scheduled.timer);
      else changePending(1);
      if (delay <= 0) {
        timers.current.delete(field);
        enqueue(field, value);
        return;
      }
      const timer = setTimeout(() => {
        timers.current.delete(field);
        enqueue(field, value);
      }, delay);
      timers.current.set(field, { timer, value });
    },
    [enqueue, changePending],
  );

  const flushField = useCallback(
    (field: PersonField) => {
      const scheduled = timers.current.get(field);
      if (!scheduled) return;
      clearTimeout(scheduled.timer);
      timers.current.delete(field);
      enqueue(field, scheduled.value);
    },
    [enqueue],
  );

  const flushAll = useCallback(async () => {
    for (const field of [...timers.current.keys()]) flushField(field);
    await queue.current;
  }, [flushField]);

  const onDateInput = useCallback(
    (field: PersonField, value: string, badInput: boolean) => {
      if (value === "" && badInput) {
        // A date being typed segment by segment: wait until it is whole rather than clearing the saved one.
        incompleteDates.current.add(field);
        cancelScheduled(field);
        return;
      }
      incompleteDates.current.delete(field);
      schedule(field, value, AUTOSAVE_DELAY_MS);
    },
    [cancelScheduled, schedule],
  );

  const onDateBlur = useCallback(
    (field: PersonField) => {
      if (incompleteDates.current.has(field)) {
        setErrors((prev) => ({ ...prev, [field]: INCOMPLETE_DATE }));
      }
      flushField(field);
    },
    [flushField],
  );

  useEffect(() => {
    const unregister = registerFlusher(flushAll);
    return () => {
      unregister();
      // Leaving the form (back to the list, lock): send what is still waiting for its delay.
      void flushAll();
    };
  }, [flushAll]);

  if (loadError) {
    return (
      <div className="narrow">
        <h1>Fiche introuvable</h1>
        <p role="alert" className="alert alert--error">
          {fr(loadError.message)}
        </p>
        <p>
          <a href={CASELOAD_HREF} className="back-link">
            Retour à la liste
          </a>
        </p>
      </div>
    );
  }

  const setDraft = (field: PersonField, value: string) => setDrafts((prev) => (prev ? { ...prev, [field]: value } : prev));

  const text = (field: PersonField) => ({
    name: field,
    value: drafts?.[field] ?? "",
    error: errors[field] ?? null,
    "data-testid": `person-${field.replace(/_/g, "-")}`,
    onValueChange: (value: string) => {
      setDraft(field, value);
      schedule(field, value, AUTOSAVE_DELAY_MS);
    },
    onBlur: () => flushField(field),
  });

  const date = (field: PersonField) => ({
    ...text(field),
    type: "date",
    onValueChange: (value: string, input: HTMLInputElement) => {
      setDraft(field, value);
      onDateInput(field, value, input.validity.badInput);
    },
    onBlur: () => onDateBlur(field),
  });

  const flag = (field: PersonField) => ({
    name: field,
    checked: drafts?.[field] === "true",
    error: errors[field] ?? null,
    onCheckedChange: (checked: boolean) => {
      setDraft(field, String(checked));
      schedule(field, String(checked), 0);
    },
  });

  const errorCount = Object.keys(errors).length;
  let status = "";
  if (pending > 0) status = "Enregistrement…";
  else if (errorCount > 0) status = "Non enregistré : corrigez le champ signalé";
  else if (problem) status = `Non enregistré : ${problem}`;
  else if (savedOnce) status = "Enregistré";

  const age = ageFromIso(person?.birth_date);

  return (
    <div className="person">
      <p className="back">
        <a href={CASELOAD_HREF} className="back-link" data-testid="back-to-list">
          <span aria-hidden="true">← </span>Retour à la liste
        </a>
      </p>
      <div className="page-head page-head--sticky">
        <h1 ref={heading} tabIndex={-1} data-testid="person-heading">
          {person ? fullName(person) || "Personne sans nom" : "Fiche personne"}
        </h1>
        <p
          role="status"
          className={`save-status${errorCount > 0 || problem ? " save-status--error" : ""}${status === "Enregistré" ? " save-status--ok" : ""}`}
          data-testid="save-status"
        >
          {fr(status)}
        </p>
      </div>
      {!drafts ? (
        <p>Chargement de la fiche…</p>
      ) : (
        <form className="person-form" noValidate onSubmit={(e) => e.preventDefault()} aria-label="Fiche de la personne">
          <p className="hint">Chaque modification est enregistrée automatiquement.</p>
          <div className="fieldsets">
            <div className="column">
              <Section title="Identité">
                <TextField label="Prénom" autoComplete="off" {...text("first_name")} />
                <TextField label="Nom" autoComplete="off" {...text("last_name")} />
                <TextField
                  label="Date de naissance"
                  {...date("birth_date")}
                  after={
                    age !== null ? (
                      <p className="derived" data-testid="person-age">
                        {age} ans
                        {age < 26 ? (
                          <span className="badge" data-testid="under-26">
                            moins de 26 ans
                          </span>
                        ) : null}
                      </p>
                    ) : null
                  }
                />
              </Section>
              <Section title="Identifiants">
                <TextField
                  label="Numéro d’allocataire CAF"
                  hint="Caisse d’allocations familiales : 13 chiffres au plus."
                  inputMode="numeric"
                  autoComplete="off"
                  {...text("caf_number")}
                />
                <TextField
                  label="Identifiant France Travail"
                  hint="8 à 11 lettres ou chiffres."
                  autoComplete="off"
                  {...text("france_travail_id")}
                />
              </Section>
            </div>
            <div className="column">
              <Section title="Coordonnées">
                <TextField label="Adresse e-mail" type="email" autoComplete="off" {...text("email")} />
                <TextField label="Téléphone" type="tel" autoComplete="off" hint="Exemple : 06 12 34 56 78" {...text("phone")} />
                <TextField label="Adresse" autoComplete="off" {...text("address")} />
                <div className="row">
                  <TextField label="Code postal" inputMode="numeric" autoComplete="off" className="field--short" {...text("postal_code")} />
                  <TextField label="Commune" autoComplete="off" {...text("commune")} />
                </div>
                <TextField
                  label="Code officiel de la commune (INSEE)"
                  hint="5 caractères, différent du code postal. Exemple : 69266 pour Villeurbanne."
                  autoComplete="off"
                  className="field--short"
                  {...text("commune_insee")}
                />
              </Section>
            </div>
            <Section title="Situation" wide>
              <SelectField
                label="Statut RSA"
                hint="Revenu de solidarité active."
                value={drafts.rsa_status}
                error={errors.rsa_status ?? null}
                testId="person-rsa-status"
                onChange={(v) => {
                  setDraft("rsa_status", v);
                  schedule("rsa_status", v, 0);
                }}
                options={[
                  ["none", "Pas de RSA"],
                  ["open", "Ouvert"],
                  ["suspended", "Suspendu"],
                  ["closed", "Clos"],
                ] satisfies [RsaStatus, string][]}
              />
              <TextField label="Statut RSA depuis le" {...date("rsa_since")} />
              <CheckboxField label="Inscrit·e à France Travail comme demandeur d’emploi" {...flag("job_seeker")} />
              <TextField label="Inscrit·e à France Travail depuis le" {...date("job_seeker_since")} />
              <CheckboxField label="Reconnaissance de la qualité de travailleur handicapé (RQTH)" {...flag("rqth")} />
              <TextField label="RQTH valable jusqu’au" {...date("rqth_until")} />
              <CheckboxField
                label="Soumis·e aux droits et devoirs du RSA"
                hint="Accompagnement obligatoire lié au RSA : orientation et contrat d’engagement."
                {...flag("droits_devoirs")}
              />
              <CheckboxField
                label="Habite un quartier prioritaire de la ville (QPV)"
                hint="Quartier de la politique de la ville défini par l’État ; y habiter ouvre droit à certaines aides et mesures."
                {...flag("qpv")}
              />
            </Section>
          </div>
        </form>
      )}
      {drafts ? <PersonDiagnostics personId={id} /> : null}
      {drafts ? (
        <section className="card section person-followup" aria-labelledby="person-followup-title">
          <h2 id="person-followup-title">Suivi</h2>
          <p>Entretiens, étapes du parcours, contrats, changements de situation et décisions des groupes de suivi, dans une chronologie.</p>
          <a href={followUpHref(id)} className="button button--primary" data-testid="open-followup">
            Ouvrir le suivi
          </a>
        </section>
      ) : null}
      {drafts ? <PersonSharing personId={id} /> : null}
      {drafts && person ? <PersonDeletion personId={id} name={fullName(person) || "cette personne"} /> : null}
    </div>
  );
}

function Section({ title, children, wide = false }: { title: string; children: ReactNode; wide?: boolean }) {
  return (
    <fieldset className={`card section${wide ? " section--wide" : ""}`}>
      <legend>{title}</legend>
      {wide ? <div className="section__grid">{children}</div> : children}
    </fieldset>
  );
}

function SelectField({
  label,
  hint,
  value,
  error,
  options,
  onChange,
  testId,
}: {
  label: string;
  hint?: string;
  value: string;
  error: string | null;
  options: [string, string][];
  onChange: (value: string) => void;
  testId: string;
}) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field--invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {fr(hint)}
        </p>
      ) : null}
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        data-testid={testId}
      >
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
      {error ? (
        <p className="error" id={`${id}-error`}>
          {fr(error)}
        </p>
      ) : null}
    </div>
  );
}
