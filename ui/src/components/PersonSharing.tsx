// The « Partage du dossier » section of the person form: with the person's consent, another structure
// of the territory sees the same file. Only on an enrolled laptop; the structures are asked of the
// server when the caseworker opens the form, so opening a person never waits on the network; so are
// the structures that already see the file (ShareAccess), where the consent can be withdrawn.
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { ShareView } from "../bindings/ShareView";
import type { StructureView } from "../bindings/StructureView";
import { useBackend } from "../lib/backendContext";
import { fr } from "../lib/format";
import { toIpcError } from "../lib/ipc";
import { useSyncStatus, useSyncStore } from "../lib/syncStore";
import { CheckboxField } from "./Field";
import { ShareAccess, shown, type Shares } from "./ShareAccess";

const MESSAGES = {
  noStructure: "Choisissez la structure qui pourra voir le dossier.",
  noConsent: "Le dossier ne peut être partagé qu’avec l’accord de la personne. Cochez cette case une fois son accord obtenu.",
};

type Errors = { structure?: string; consent?: string; form?: string; notOnServer?: boolean };

export function PersonSharing({ personId }: { personId: string }) {
  const backend = useBackend();
  const status = useSyncStatus();
  const [open, setOpen] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [structures, setStructures] = useState<Structures>({ state: "loading" });
  const toggle = useRef<HTMLButtonElement>(null);
  const request = useRef(0);
  const formId = useId();
  const [accessOpen, setAccessOpen] = useState(false);
  const [shares, setShares] = useState<Shares>({ state: "loading" });
  const sharesRequest = useRef(0);
  const accessId = useId();

  /** Asks the server, on the caseworker's demand only; an answer to an older request is dropped. */
  function load() {
    const mine = ++request.current;
    setStructures({ state: "loading" });
    backend.listStructures().then(
      (items) => {
        if (mine === request.current) setStructures({ state: "loaded", items });
      },
      (raw: unknown) => {
        const error = toIpcError(raw);
        if (mine === request.current) setStructures({ state: "failed", message: shown(error) ? error.message : "" });
      },
    );
  }

  /** The structures that see the file, on demand too; an answer to an older request is dropped. */
  function loadShares() {
    const mine = ++sharesRequest.current;
    setShares({ state: "loading" });
    backend.listShares(personId).then(
      (items) => {
        if (mine === sharesRequest.current) setShares({ state: "loaded", items: [...items].sort(byName) });
      },
      (raw: unknown) => {
        const error = toIpcError(raw);
        if (mine === sharesRequest.current) setShares({ state: "failed", message: shown(error) ? error.message : "" });
      },
    );
  }

  if (status === null || status.state === "not_enrolled") return null;

  return (
    <section className="card section sharing" aria-labelledby="sharing-title" data-testid="sharing">
      <div className="diagnostics__head">
        <h2 id="sharing-title">Partage du dossier</h2>
        <div className="sharing__buttons">
          <button
            type="button"
            ref={toggle}
            className="button"
            aria-expanded={open}
            aria-controls={open ? formId : undefined}
            onClick={() => {
              setDone(null);
              if (open) {
                request.current += 1;
                setOpen(false);
              } else {
                setOpen(true);
                load();
              }
            }}
            data-testid="share-open"
          >
            Partager avec une autre structure
          </button>
          <button
            type="button"
            className="button"
            aria-expanded={accessOpen}
            aria-controls={accessOpen ? accessId : undefined}
            onClick={() => {
              if (accessOpen) {
                sharesRequest.current += 1;
                setAccessOpen(false);
              } else {
                setAccessOpen(true);
                loadShares();
              }
            }}
            data-testid="shares-open"
          >
            Voir les structures qui ont accès
          </button>
        </div>
      </div>
      <p className="hint">
        {fr(
          "Avec l’accord de la personne, une autre structure qui l’accompagne voit le même dossier. Le partage passe par le serveur du territoire.",
        )}
      </p>
      {done ? <ShareSuccess structure={done} /> : null}
      {open ? (
        <ShareForm
          id={formId}
          personId={personId}
          structures={structures}
          ownStructure={status.structure_name}
          onRetry={load}
          onShared={(name) => {
            setOpen(false);
            setDone(name);
            if (accessOpen) loadShares();
          }}
          onCancel={() => {
            setOpen(false);
            toggle.current?.focus();
          }}
        />
      ) : null}
      {accessOpen ? (
        <ShareAccess
          id={accessId}
          personId={personId}
          shares={shares}
          onRetry={loadShares}
          onWithdrawn={(structureId) =>
            setShares((prev) =>
              prev.state === "loaded" ? { state: "loaded", items: prev.items.filter((s) => s.structure_id !== structureId) } : prev,
            )
          }
        />
      ) : null}
    </section>
  );
}

function byName(a: ShareView, b: ShareView): number {
  return a.structure_name.localeCompare(b.structure_name, "fr");
}

/** Focused on arrival: the form that had focus is gone, and this says what happens next. */
function ShareSuccess({ structure }: { structure: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <div className="alert alert--ok" role="status" tabIndex={-1} ref={ref} data-testid="share-success">
      <p>{fr(`Le dossier sera visible par ${structure} après sa prochaine synchronisation.`)}</p>
    </div>
  );
}

type Structures = { state: "loading" } | { state: "loaded"; items: StructureView[] } | { state: "failed"; message: string };

function ShareForm({
  id,
  personId,
  structures,
  ownStructure,
  onRetry,
  onShared,
  onCancel,
}: {
  id: string;
  personId: string;
  structures: Structures;
  ownStructure: string | null;
  onRetry: () => void;
  onShared: (structureName: string) => void;
  onCancel: () => void;
}) {
  const backend = useBackend();
  const [structureId, setStructureId] = useState("");
  const [consent, setConsent] = useState(false);
  const [socialNotes, setSocialNotes] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const selectRef = useRef<HTMLSelectElement>(null);
  const consentRef = useRef<HTMLInputElement>(null);
  const alertRef = useRef<HTMLDivElement>(null);
  const loadAlertRef = useRef<HTMLDivElement>(null);
  const selectId = useId();

  // The caseworker asked for this form: once the list is there, take them to its first field (or
  // to what went wrong).
  const loadState = structures.state;
  useEffect(() => {
    if (loadState === "loaded") selectRef.current?.focus();
    else if (loadState === "failed") loadAlertRef.current?.focus();
  }, [loadState]);

  // The file is already visible to the enrolled structure: it is not offered.
  const others =
    structures.state === "loaded"
      ? structures.items.filter((s) => s.name !== ownStructure).sort((a, b) => a.name.localeCompare(b.name, "fr"))
      : [];

  function show(next: Errors) {
    setErrors(next);
    // Focus the first field in error so its message is read with it.
    requestAnimationFrame(() => {
      if (next.structure) selectRef.current?.focus();
      else if (next.consent) consentRef.current?.focus();
      else if (next.form) alertRef.current?.focus();
    });
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy || structures.state !== "loaded") return;
    const local: Errors = {};
    const structure = others.find((s) => s.id === structureId);
    if (!structure) local.structure = MESSAGES.noStructure;
    if (!consent) local.consent = MESSAGES.noConsent;
    if (!structure || local.consent) {
      show(local);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      await backend.sharePerson(personId, structure.id, socialNotes);
      onShared(structure.name);
    } catch (raw) {
      const error = toIpcError(raw);
      if (shown(error)) show({ form: error.message, notOnServer: error.code === "not_on_server" });
      setBusy(false);
    }
  }

  if (structures.state === "loading") {
    return (
      <div id={id} role="status" className="sharing__loading" data-testid="share-loading">
        <p>Chargement de la liste des structures…</p>
      </div>
    );
  }

  if (structures.state === "failed") {
    return (
      <div id={id} className="form">
        <div role="alert" className="alert-slot">
          {structures.message ? (
            <div className="alert alert--error" tabIndex={-1} ref={loadAlertRef} data-testid="share-error">
              <p>{fr(structures.message)}</p>
            </div>
          ) : null}
        </div>
        <div className="actions">
          <button
            type="button"
            className="button"
            onClick={onRetry}
          >
            Réessayer
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Annuler
          </button>
        </div>
      </div>
    );
  }

  if (others.length === 0) {
    return (
      <div id={id} className="form">
        <p data-testid="share-no-structure">Aucune autre structure du territoire n’est inscrite sur le serveur pour l’instant.</p>
        <div className="actions">
          <button type="button" className="button" onClick={onCancel}>
            Fermer
          </button>
        </div>
      </div>
    );
  }

  const describedBy = errors.structure ? `${selectId}-error` : undefined;
  return (
    <form id={id} onSubmit={submit} noValidate className="form sharing__form" aria-label="Partager le dossier" data-testid="share-form">
      <div role="alert" className="alert-slot">
        {errors.form ? (
          <div className="alert alert--error" tabIndex={-1} ref={alertRef} data-testid="share-error">
            <p>{fr(errors.form)}</p>
            {errors.notOnServer ? <SyncFirst /> : null}
          </div>
        ) : null}
      </div>
      <div className={`field${errors.structure ? " field--invalid" : ""}`}>
        <label htmlFor={selectId}>Structure qui pourra voir le dossier</label>
        <select
          id={selectId}
          ref={selectRef}
          name="structure"
          value={structureId}
          aria-invalid={errors.structure ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => {
            setStructureId(e.target.value);
            setErrors((prev) => ({ ...prev, structure: undefined, form: undefined }));
          }}
          data-testid="share-structure"
        >
          <option value="">Choisissez une structure</option>
          {byKind(others).map(([label, items]) => (
            <optgroup key={label} label={label}>
              {items.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
        {errors.structure ? (
          <p className="error" id={`${selectId}-error`}>
            <span aria-hidden="true" className="error__icon">
              !
            </span>
            {fr(errors.structure)}
          </p>
        ) : null}
      </div>
      <CheckboxField
        label="La personne accepte que cette structure voie son dossier"
        hint="Obligatoire. Demandez-lui son accord avant de partager."
        name="consent"
        checked={consent}
        inputRef={consentRef}
        error={errors.consent ?? null}
        onCheckedChange={(checked) => {
          setConsent(checked);
          setErrors((prev) => ({ ...prev, consent: undefined, form: undefined }));
        }}
      />
      <CheckboxField
        label="Y compris les notes réservées au travail social"
        hint="Facultatif. Sans cette case, la structure voit le dossier sans ces notes."
        name="share_social_notes"
        checked={socialNotes}
        onCheckedChange={(checked) => {
          setSocialNotes(checked);
          setErrors((prev) => ({ ...prev, form: undefined }));
        }}
      />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="share-submit">
          {busy ? "Partage en cours…" : "Partager"}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Annuler
        </button>
      </div>
    </form>
  );
}

/** The file has not reached the server yet: a sync sends it, then sharing works. */
function SyncFirst() {
  const backend = useBackend();
  const store = useSyncStore();
  const status = useSyncStatus();
  const [asked, setAsked] = useState(false);
  const syncing = status?.state === "syncing";

  async function syncNow() {
    if (syncing) return;
    try {
      store.update(await backend.syncNow());
      setAsked(true);
    } catch {
      // The sync bar says why a sync cannot start (offline, not enrolled…).
      store.refresh();
    }
  }

  return (
    <p>
      <button type="button" className="button" onClick={() => void syncNow()} aria-disabled={syncing || undefined} data-testid="share-sync-now">
        Synchroniser maintenant
      </button>
      {asked ? <span role="status"> {fr("Synchronisation lancée : partagez de nouveau quand elle est terminée.")}</span> : null}
    </p>
  );
}

/** The structures grouped by kind (« Mission locale », « CCAS / CIAS »…), groups in alphabetical order. */
function byKind(structures: StructureView[]): [string, StructureView[]][] {
  const groups = new Map<string, StructureView[]>();
  for (const s of structures) {
    const label = s.kind_label || "Autres structures";
    groups.set(label, [...(groups.get(label) ?? []), s]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b, "fr"));
}
