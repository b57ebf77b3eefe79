// The forms of the follow-up screen: each one turns what the caseworker typed into follow-up edits
// (ids chosen here, so a retried save never duplicates anything) and shows the refusal of Rust in
// place, on the field it names.
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode, type RefObject } from "react";
import type { ActionStatus } from "../../bindings/ActionStatus";
import type { ContractType } from "../../bindings/ContractType";
import type { EngagementContractKind } from "../../bindings/EngagementContractKind";
import type { FollowUpEdit } from "../../bindings/FollowUpEdit";
import type { FollowUpObjective } from "../../bindings/FollowUpObjective";
import type { InterviewKind } from "../../bindings/InterviewKind";
import type { ReferentielTheme } from "../../bindings/ReferentielTheme";
import type { RsaStatus } from "../../bindings/RsaStatus";
import type { Step } from "../../bindings/Step";
import { ACTION_STATUS_LABELS, ACTION_STATUSES, CONTRACT_LABELS, CONTRACT_TYPES } from "../../lib/diagnosticLabels";
import { fr } from "../../lib/format";
import { cafReasonsFor, CONTRACT_KIND_LABELS, CONTRACT_KINDS, INTERVIEW_KIND_LABELS, INTERVIEW_KINDS } from "../../lib/followupLabels";
import type { IpcError } from "../../lib/ipc";
import { CheckboxField, RadioGroupField, TextAreaField, TextField } from "../Field";

export const REQUIRED = "Ce champ est obligatoire.";
const INCOMPLETE_DATE = "Cette date est incomplète. Exemple : 14/07/1985.";

/** Sends edits in order; answers the first refusal (nothing after it is sent). */
export type SendEdits = (edits: FollowUpEdit[], done: string) => Promise<IpcError | null>;

export function newId(): string {
  return crypto.randomUUID();
}

export function todayIso(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

type Errors = Record<string, string>;

/**
 * A form's errors: local checks and the refusal of Rust, whose `field` is mapped to the form's own
 * field (`fields`); a refusal about no field of this form is shown above its buttons.
 */
function useFormErrors(fields: Record<string, string>) {
  const [errors, setErrors] = useState<Errors>({});
  const [alert, setAlert] = useState<string | null>(null);
  const form = useRef<HTMLFormElement>(null);
  const focusFirstInvalid = () =>
    requestAnimationFrame(() => form.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus());
  return {
    errors,
    alert,
    form,
    reset() {
      setErrors({});
      setAlert(null);
    },
    local(found: Errors): boolean {
      setAlert(null);
      setErrors(found);
      if (Object.keys(found).length > 0) {
        focusFirstInvalid();
        return false;
      }
      return true;
    },
    refused(error: IpcError) {
      const target = error.field ? fields[error.field] : undefined;
      if (error.code === "validation" && target) {
        setErrors({ [target]: error.message });
        setAlert(null);
        focusFirstInvalid();
      } else {
        setErrors({});
        setAlert(error.message);
      }
    },
  };
}

/** A date input: "" while empty, and a flag while only part of the date is typed. */
function useDate(initial = "") {
  const [value, setValue] = useState(initial);
  const [incomplete, setIncomplete] = useState(false);
  return {
    value,
    incomplete,
    set: setValue,
    props: {
      type: "date",
      value,
      onValueChange: (v: string, input: HTMLInputElement) => {
        setValue(v);
        setIncomplete(v === "" && input.validity.badInput);
      },
    },
  };
}

function dateError(d: { value: string; incomplete: boolean }, required: boolean): string | null {
  if (d.incomplete) return INCOMPLETE_DATE;
  if (required && d.value === "") return REQUIRED;
  return null;
}

function FormShell({
  title,
  titleId,
  children,
  onSubmit,
  onCancel,
  submitLabel,
  busy,
  alert,
  formRef,
  testId,
}: {
  title: string;
  titleId: string;
  children: ReactNode;
  onSubmit: (e: FormEvent) => void;
  onCancel: () => void;
  submitLabel: string;
  busy: boolean;
  alert: string | null;
  formRef: RefObject<HTMLFormElement | null>;
  testId: string;
}) {
  // Opened from a button: the first field takes the focus, so typing can start at once.
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>("input, select, textarea")?.focus();
  }, [formRef]);
  return (
    <form ref={formRef} className="card form followup-form" aria-labelledby={titleId} noValidate onSubmit={onSubmit} data-testid={testId}>
      <h3 id={titleId} tabIndex={-1} className="followup-form__title">
        {title}
      </h3>
      {children}
      {alert ? (
        <p role="alert" className="alert alert--error">
          {fr(alert)}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          {submitLabel}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Annuler
        </button>
      </div>
    </form>
  );
}

export function SelectField({
  label,
  value,
  options,
  onChange,
  error,
  hint,
  testId,
}: {
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
  onChange: (value: string) => void;
  error?: string | null;
  hint?: string;
  testId?: string;
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
            {fr(text)}
          </option>
        ))}
      </select>
      {error ? (
        <p className="error" id={`${id}-error`}>
          <span aria-hidden="true" className="error__icon">
            !
          </span>
          {fr(error)}
        </p>
      ) : null}
    </div>
  );
}

function ThemeChecklist({
  legend,
  themes,
  chosen,
  onChange,
  error,
}: {
  legend: string;
  themes: ReferentielTheme[];
  chosen: string[];
  onChange: (chosen: string[]) => void;
  error?: string | null;
}) {
  return (
    <fieldset className={`field checkbox-group followup-themes${error ? " field--invalid" : ""}`}>
      <legend>{legend}</legend>
      <div className="checkbox-group__options">
        {themes.map((t) => (
          <CheckboxField
            key={t.key}
            label={t.label}
            checked={chosen.includes(t.key)}
            onCheckedChange={(checked) => onChange(checked ? [...chosen, t.key] : chosen.filter((k) => k !== t.key))}
          />
        ))}
      </div>
      {error ? <p className="error">{fr(error)}</p> : null}
    </fieldset>
  );
}

// --- interview ----------------------------------------------------------------------------------

export function InterviewForm({ themes, send, onClose }: { themes: ReferentielTheme[]; send: SendEdits; onClose: () => void }) {
  const titleId = useId();
  const date = useDate(todayIso());
  const [kind, setKind] = useState<InterviewKind>("follow_up");
  const [attended, setAttended] = useState(true);
  const [by, setBy] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const f = useFormErrors({ interview_date: "date", interview_by: "by", interview_themes: "themes" });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const dateProblem = dateError(date, true);
    if (!f.local(dateProblem ? { date: dateProblem } : {})) return;
    setBusy(true);
    const error = await send(
      [{ kind: "record_interview", id: newId(), date: date.value, interview_kind: kind, attended, by, themes: chosen }],
      attended ? "Entretien enregistré." : "Absence enregistrée.",
    );
    setBusy(false);
    if (error) f.refused(error);
    else onClose();
  }

  return (
    <FormShell title="Enregistrer un entretien" titleId={titleId} onSubmit={submit} onCancel={onClose} submitLabel="Enregistrer l’entretien" busy={busy} alert={f.alert} formRef={f.form} testId="interview-form">
      <div className="row">
        <TextField label="Date de l’entretien" className="field--date" {...date.props} error={f.errors.date ?? null} />
        <SelectField label="Type d’entretien" value={kind} onChange={(v) => setKind(v as InterviewKind)} options={INTERVIEW_KINDS.map((k) => [k, INTERVIEW_KIND_LABELS[k]] as const)} />
      </div>
      <CheckboxField label="La personne est venue" hint="Décochez si elle ne s’est pas présentée : une absence ne compte pas comme un entretien." checked={attended} onCheckedChange={setAttended} />
      <TextField label="Mené par" hint="Nom de la ou du professionnel·le, facultatif." autoComplete="off" value={by} onValueChange={setBy} error={f.errors.by ?? null} />
      <ThemeChecklist legend="Thèmes abordés" themes={themes} chosen={chosen} onChange={setChosen} error={f.errors.themes ?? null} />
    </FormShell>
  );
}

// --- steps --------------------------------------------------------------------------------------

export function AddStepForm({
  themes,
  objectives,
  send,
  onClose,
}: {
  themes: ReferentielTheme[];
  objectives: FollowUpObjective[];
  send: SendEdits;
  onClose: () => void;
}) {
  const titleId = useId();
  const [label, setLabel] = useState("");
  const [objective, setObjective] = useState("");
  const [theme, setTheme] = useState("");
  const start = useDate();
  const end = useDate();
  const [provider, setProvider] = useState("");
  const [busy, setBusy] = useState(false);
  const f = useFormErrors({ step_label: "label", step_planned_start: "start", step_planned_end: "end", step_provider: "provider" });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Errors = {};
    if (!label.trim()) found.label = REQUIRED;
    const s = dateError(start, false);
    if (s) found.start = s;
    const en = dateError(end, false);
    if (en) found.end = en;
    if (!f.local(found)) return;
    setBusy(true);
    const id = newId();
    const edits: FollowUpEdit[] = [
      {
        kind: "add_step",
        id,
        objective_id: objective || null,
        theme: theme || null,
        label,
        planned_start: start.value || null,
        planned_end: end.value || null,
        created_on: todayIso(),
      },
    ];
    if (provider.trim()) edits.push({ kind: "set_step_text", id, field: "provider", value: provider });
    const error = await send(edits, "Étape ajoutée au parcours.");
    setBusy(false);
    if (error) f.refused(error);
    else onClose();
  }

  return (
    <FormShell title="Ajouter une étape" titleId={titleId} onSubmit={submit} onCancel={onClose} submitLabel="Ajouter l’étape" busy={busy} alert={f.alert} formRef={f.form} testId="add-step-form">
      <TextField label="Intitulé de l’étape" autoComplete="off" value={label} onValueChange={setLabel} error={f.errors.label ?? null} />
      <div className="row">
        <SelectField
          label="Objectif servi"
          value={objective}
          onChange={setObjective}
          options={[["", "Aucun objectif"], ...objectives.map((o) => [o.id, o.label] as const)]}
        />
        <SelectField
          label="Thème"
          hint="Par défaut, celui de l’objectif."
          value={theme}
          onChange={setTheme}
          options={[["", "Aucun thème"], ...themes.map((t) => [t.key, t.label] as const)]}
        />
      </div>
      <div className="row">
        <TextField label="Début prévu" className="field--date" {...start.props} error={f.errors.start ?? null} />
        <TextField label="Fin prévue" className="field--date" {...end.props} error={f.errors.end ?? null} />
      </div>
      <TextField label="Prestataire ou structure" autoComplete="off" value={provider} onValueChange={setProvider} error={f.errors.provider ?? null} />
    </FormShell>
  );
}

export function EditStepForm({ step, send, onClose }: { step: Step; send: SendEdits; onClose: () => void }) {
  const titleId = useId();
  const [label, setLabel] = useState(step.label);
  const [status, setStatus] = useState<ActionStatus>(step.status);
  const plannedStart = useDate(step.planned_start ?? "");
  const plannedEnd = useDate(step.planned_end ?? "");
  const actualStart = useDate(step.actual_start ?? "");
  const actualEnd = useDate(step.actual_end ?? "");
  const [provider, setProvider] = useState(step.provider);
  const [outcome, setOutcome] = useState(step.outcome);
  const [busy, setBusy] = useState(false);
  const f = useFormErrors({
    step_label: "label",
    step_provider: "provider",
    step_outcome: "outcome",
    step_status: "status",
    step_planned_start: "plannedStart",
    step_planned_end: "plannedEnd",
    step_actual_start: "actualStart",
    step_actual_date: "actualEnd",
    step_actual_end: "actualEnd",
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Errors = {};
    if (!label.trim()) found.label = REQUIRED;
    for (const [key, d] of [
      ["plannedStart", plannedStart],
      ["plannedEnd", plannedEnd],
      ["actualStart", actualStart],
      ["actualEnd", actualEnd],
    ] as const) {
      const problem = dateError(d, false);
      if (problem) found[key] = problem;
    }
    if (!f.local(found)) return;
    const edits: FollowUpEdit[] = [];
    const id = step.id;
    if (label !== step.label) edits.push({ kind: "set_step_text", id, field: "label", value: label });
    if (provider !== step.provider) edits.push({ kind: "set_step_text", id, field: "provider", value: provider });
    if (outcome !== step.outcome) edits.push({ kind: "set_step_text", id, field: "outcome", value: outcome });
    const or = (v: string) => v || null;
    if (or(plannedStart.value) !== step.planned_start || or(plannedEnd.value) !== step.planned_end) {
      edits.push({ kind: "set_step_planned_dates", id, start: or(plannedStart.value), end: or(plannedEnd.value) });
    }
    if (or(actualStart.value) !== step.actual_start || or(actualEnd.value) !== step.actual_end) {
      edits.push({ kind: "set_step_actual_dates", id, start: or(actualStart.value), end: or(actualEnd.value) });
    }
    // After the dates, which move a planned step on by themselves: an explicit choice wins.
    if (status !== step.status) edits.push({ kind: "set_step_status", id, status });
    if (edits.length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    const error = await send(edits, "Étape enregistrée.");
    setBusy(false);
    if (error) f.refused(error);
    else onClose();
  }

  return (
    <FormShell title={`Modifier l’étape « ${step.label} »`} titleId={titleId} onSubmit={submit} onCancel={onClose} submitLabel="Enregistrer l’étape" busy={busy} alert={f.alert} formRef={f.form} testId="edit-step-form">
      <TextField label="Intitulé de l’étape" autoComplete="off" value={label} onValueChange={setLabel} error={f.errors.label ?? null} />
      <SelectField label="Statut" value={status} onChange={(v) => setStatus(v as ActionStatus)} options={ACTION_STATUSES.map((s) => [s, ACTION_STATUS_LABELS[s]] as const)} error={f.errors.status ?? null} />
      <div className="row">
        <TextField label="Début prévu" className="field--date" {...plannedStart.props} error={f.errors.plannedStart ?? null} />
        <TextField label="Fin prévue" className="field--date" {...plannedEnd.props} error={f.errors.plannedEnd ?? null} />
      </div>
      <div className="row">
        <TextField label="Début réel" hint="Jamais dans le futur." className="field--date" {...actualStart.props} error={f.errors.actualStart ?? null} />
        <TextField label="Fin réelle" hint="La fin réelle marque l’étape comme réalisée." className="field--date" {...actualEnd.props} error={f.errors.actualEnd ?? null} />
      </div>
      <TextField label="Prestataire ou structure" autoComplete="off" value={provider} onValueChange={setProvider} error={f.errors.provider ?? null} />
      <TextAreaField label="Résultat" value={outcome} onValueChange={setOutcome} error={f.errors.outcome ?? null} />
    </FormShell>
  );
}

// --- contracts ----------------------------------------------------------------------------------

export function ContractForm({ objectives, send, onClose }: { objectives: FollowUpObjective[]; send: SendEdits; onClose: () => void }) {
  const titleId = useId();
  const [kind, setKind] = useState<EngagementContractKind>("contrat_engagement");
  const start = useDate(todayIso());
  const end = useDate();
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const f = useFormErrors({ contract_start: "start", contract_end: "end" });

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Errors = {};
    const s = dateError(start, true);
    if (s) found.start = s;
    const en = dateError(end, false);
    if (en) found.end = en;
    if (!f.local(found)) return;
    setBusy(true);
    const error = await send(
      [{ kind: "add_contract", id: newId(), contract_kind: kind, start: start.value, end: end.value || null, objective_ids: chosen }],
      "Contrat enregistré.",
    );
    setBusy(false);
    if (error) f.refused(error);
    else onClose();
  }

  return (
    <FormShell title="Ajouter un contrat" titleId={titleId} onSubmit={submit} onCancel={onClose} submitLabel="Ajouter le contrat" busy={busy} alert={f.alert} formRef={f.form} testId="contract-form">
      <SelectField label="Type de contrat" value={kind} onChange={(v) => setKind(v as EngagementContractKind)} options={CONTRACT_KINDS.map((k) => [k, CONTRACT_KIND_LABELS[k]] as const)} />
      <div className="row">
        <TextField label="Début" className="field--date" {...start.props} error={f.errors.start ?? null} />
        <TextField label="Fin prévue" hint="Facultative." className="field--date" {...end.props} error={f.errors.end ?? null} />
      </div>
      {objectives.length > 0 ? (
        <fieldset className="field checkbox-group">
          <legend>Objectifs du contrat</legend>
          <p className="hint">Les objectifs restent ouverts à la fin du contrat.</p>
          <div className="checkbox-group__options">
            {objectives.map((o) => (
              <CheckboxField
                key={o.id}
                label={o.label}
                checked={chosen.includes(o.id)}
                onCheckedChange={(checked) => setChosen(checked ? [...chosen, o.id] : chosen.filter((x) => x !== o.id))}
              />
            ))}
          </div>
        </fieldset>
      ) : (
        <p className="hint">Aucun objectif en cours à rattacher : reprenez le plan du diagnostic ou ajoutez-en d’abord.</p>
      )}
    </FormShell>
  );
}

// --- changes of situation -----------------------------------------------------------------------

type ChangeKind = "rsa" | "return_to_work" | "referent_changed";

export function StatusEventForm({ send, onClose }: { send: SendEdits; onClose: () => void }) {
  const titleId = useId();
  const date = useDate(todayIso());
  const [kind, setKind] = useState<ChangeKind>("rsa");
  const [rsa, setRsa] = useState<Exclude<RsaStatus, "none">>("suspended");
  const [reason, setReason] = useState("");
  const [employer, setEmployer] = useState("");
  const [contractType, setContractType] = useState("");
  const [referent, setReferent] = useState("");
  const [structure, setStructure] = useState("");
  const [busy, setBusy] = useState(false);
  const f = useFormErrors({
    status_date: "date",
    rsa_status: "rsa",
    reason_code: "reason",
    employer: "employer",
    referent: "referent",
    structure: "structure",
  });
  const reasons = cafReasonsFor(rsa);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Errors = {};
    const d = dateError(date, true);
    if (d) found.date = d;
    if (kind === "referent_changed") {
      if (!referent.trim()) found.referent = REQUIRED;
      if (!structure.trim()) found.structure = REQUIRED;
    }
    if (!f.local(found)) return;
    const change =
      kind === "rsa"
        ? { kind, status: rsa, reason_code: reasons.length > 0 && reason ? reason : null }
        : kind === "return_to_work"
          ? { kind, employer, contract_type: (contractType || null) as ContractType | null }
          : { kind, referent, structure };
    setBusy(true);
    const error = await send([{ kind: "record_status_event", id: newId(), date: date.value, change }], "Changement de situation enregistré.");
    setBusy(false);
    if (error) f.refused(error);
    else onClose();
  }

  return (
    <FormShell
      title="Enregistrer un changement de situation"
      titleId={titleId}
      onSubmit={submit}
      onCancel={onClose}
      submitLabel="Enregistrer le changement"
      busy={busy}
      alert={f.alert}
      formRef={f.form}
      testId="status-form"
    >
      <TextField label="Date du changement" className="field--date" {...date.props} error={f.errors.date ?? null} />
      <RadioGroupField
        legend="Changement"
        name="change-kind"
        value={kind}
        onValueChange={(v) => setKind(v as ChangeKind)}
        options={[
          ["rsa", "RSA : ouverture, suspension ou clôture"],
          ["return_to_work", "Retour à l’emploi"],
          ["referent_changed", "Changement de référent·e"],
        ]}
      />
      {kind === "rsa" ? (
        <div className="row">
          <SelectField
            label="Statut du RSA"
            value={rsa}
            onChange={(v) => {
              setRsa(v as Exclude<RsaStatus, "none">);
              setReason("");
            }}
            options={[
              ["open", "RSA ouvert"],
              ["suspended", "RSA suspendu"],
              ["closed", "RSA clos"],
            ]}
            error={f.errors.rsa ?? null}
          />
          {reasons.length > 0 ? (
            <SelectField
              label="Motif CAF ou MSA"
              hint="Le code transmis par la caisse, facultatif."
              value={reason}
              onChange={setReason}
              options={[["", "Motif non précisé"], ...reasons.map((r) => [r.value, r.label] as const)]}
              error={f.errors.reason ?? null}
              testId="caf-reason"
            />
          ) : null}
        </div>
      ) : kind === "return_to_work" ? (
        <div className="row">
          <TextField label="Employeur ou lieu de travail" hint="Facultatif." autoComplete="off" value={employer} onValueChange={setEmployer} error={f.errors.employer ?? null} />
          <SelectField
            label="Type de contrat de travail"
            value={contractType}
            onChange={setContractType}
            options={[["", "Non précisé"], ...CONTRACT_TYPES.map((c) => [c, CONTRACT_LABELS[c]] as const)]}
          />
        </div>
      ) : (
        <div className="row">
          <TextField label="Nouveau ou nouvelle référent·e" autoComplete="off" value={referent} onValueChange={setReferent} error={f.errors.referent ?? null} />
          <TextField label="Sa structure" autoComplete="off" value={structure} onValueChange={setStructure} error={f.errors.structure ?? null} />
        </div>
      )}
      {kind === "return_to_work" ? (
        <p className="hint">Des entretiens de suivi dans l’emploi sont prévus à 1, 3 et 6 mois.</p>
      ) : null}
    </FormShell>
  );
}
