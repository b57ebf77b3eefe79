import { useEffect, useRef, useState, type FormEvent } from "react";
import type { SyncStatus } from "../bindings/SyncStatus";
import { useBackend } from "../lib/backendContext";
import { fr } from "../lib/format";
import { ENROLMENT_CODE_EXAMPLE as CODE_EXAMPLE, normaliseEnrolmentCode } from "../lib/enrolmentCode";
import { toIpcError } from "../lib/ipc";
import { useSyncStatus, useSyncStore } from "../lib/syncStore";
import { TextField } from "./Field";

type Errors = { server_url?: string; code?: string; form?: string };

/** « Serveur du territoire » in the settings: the enrolment form, or where this laptop syncs. */
export function ServerSection() {
  const store = useSyncStore();
  const status = useSyncStatus();
  const [justEnrolled, setJustEnrolled] = useState(false);
  const enrolled = status !== null && status.state !== "not_enrolled";

  return (
    <section className="server" aria-labelledby="server-heading" data-testid="server-section">
      <h3 id="server-heading">Serveur du territoire</h3>
      {status === null ? (
        <p className="hint">Lecture de l’état de la synchronisation…</p>
      ) : enrolled ? (
        <EnrolledFacts status={status} justEnrolled={justEnrolled} />
      ) : (
        <EnrolForm
          onEnrolled={(s) => {
            setJustEnrolled(true);
            store.update(s);
          }}
        />
      )}
    </section>
  );
}

function EnrolledFacts({ status, justEnrolled }: { status: SyncStatus; justEnrolled: boolean }) {
  return (
    <>
      {justEnrolled ? <EnrolSuccess structure={status.structure_name ?? ""} /> : null}
      <dl className="profile-facts" data-testid="server-facts">
        <div>
          <dt>Serveur</dt>
          <dd className="server__url">{status.server_url}</dd>
        </div>
        <div>
          <dt>Structure</dt>
          <dd>{status.structure_name}</dd>
        </div>
      </dl>
      <p className="hint">
        {fr("Pour relier cet ordinateur à un autre serveur ou le retirer, adressez-vous à l’administrateur du territoire.")}
      </p>
    </>
  );
}

/** Focused once on arrival: the form that had focus is gone, and this says what happened. */
function EnrolSuccess({ structure }: { structure: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <div className="alert alert--ok" role="status" tabIndex={-1} ref={ref} data-testid="enrol-success">
      <p>{fr(`Cet ordinateur est maintenant relié au serveur du territoire, pour la structure « ${structure} ». La première synchronisation commence.`)}</p>
    </div>
  );
}

function EnrolForm({ onEnrolled }: { onEnrolled: (status: SyncStatus) => void }) {
  const backend = useBackend();
  const [serverUrl, setServerUrl] = useState("");
  const [code, setCode] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const urlRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);
  const alertRef = useRef<HTMLDivElement>(null);

  function show(next: Errors) {
    setErrors(next);
    // Focus the first field in error so its message is read with it.
    requestAnimationFrame(() => {
      if (next.server_url) urlRef.current?.focus();
      else if (next.code) codeRef.current?.focus();
      else if (next.form) alertRef.current?.focus();
    });
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const local: Errors = {};
    if (serverUrl.trim() === "") local.server_url = "Ce champ est obligatoire.";
    const normalised = normaliseEnrolmentCode(code);
    if (code.trim() === "") local.code = "Ce champ est obligatoire.";
    else if (normalised === null) local.code = `Le code compte 16 lettres ou chiffres, par exemple ${CODE_EXAMPLE}.`;
    if (local.server_url || local.code || normalised === null) {
      show(local);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const status = await backend.enrolDevice(serverUrl.trim(), normalised);
      onEnrolled(status);
    } catch (raw) {
      const error = toIpcError(raw);
      if (error.code === "validation" && error.field === "server_url") show({ server_url: error.message });
      else if (error.code === "invalid_code" || (error.code === "validation" && error.field === "code")) show({ code: error.message });
      else if (error.code !== "device_revoked" && error.code !== "locked") show({ form: error.message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="form" data-testid="enrol-form">
      <p className="hint">
        {fr(
          "Relié au serveur, cet ordinateur partage les dossiers des personnes qui y consentent avec les autres structures qui les suivent. L’administrateur du territoire vous donne l’adresse du serveur et un code à usage unique.",
        )}
      </p>
      <div role="alert" className="alert-slot">
        {errors.form ? (
          <div className="alert alert--error" tabIndex={-1} ref={alertRef} data-testid="enrol-error">
            <p>{fr(errors.form)}</p>
          </div>
        ) : null}
      </div>
      <TextField
        label="Adresse du serveur"
        hint="Exemple : https://tandem.mon-territoire.fr"
        type="url"
        inputMode="url"
        name="server_url"
        autoComplete="url"
        spellCheck={false}
        value={serverUrl}
        onValueChange={(v) => {
          setServerUrl(v);
          setErrors((e) => ({ ...e, server_url: undefined, form: undefined }));
        }}
        error={errors.server_url}
        inputRef={urlRef}
        data-testid="enrol-server-url"
      />
      <TextField
        label="Code à usage unique"
        hint={`16 lettres ou chiffres, par exemple ${CODE_EXAMPLE}. Les majuscules et les tirets sont facultatifs.`}
        name="enrolment_code"
        autoComplete="off"
        autoCapitalize="characters"
        spellCheck={false}
        className="field--code"
        value={code}
        onValueChange={(v) => {
          setCode(v);
          setErrors((e) => ({ ...e, code: undefined, form: undefined }));
        }}
        error={errors.code}
        inputRef={codeRef}
        data-testid="enrol-code"
      />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="enrol-submit">
          {busy ? "Connexion au serveur…" : "Relier cet ordinateur"}
        </button>
      </div>
    </form>
  );
}
