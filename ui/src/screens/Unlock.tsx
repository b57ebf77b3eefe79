import { useEffect, useRef, useState, type FormEvent } from "react";
import type { Profile } from "../bindings/Profile";
import { TextField } from "../components/Field";
import { useBackend } from "../lib/backendContext";
import type { IpcError } from "../lib/ipc";
import { fr } from "../lib/format";
import { useDocumentTitle } from "../lib/route";

/** Errors after which typing the passphrase again cannot help: say what happened, offer no retry loop. */
const FATAL = new Set(["cannot_decrypt", "damaged", "newer_schema", "wrapped_key_damaged"]);

const KEYCHAIN_EXPLANATION =
  "Le trousseau du système n’est pas disponible : Tandem ne peut pas ouvrir le dossier sans lui.";

export function Unlock({ onUnlocked, afterInactivity }: { onUnlocked: (profile: Profile) => void; afterInactivity: boolean }) {
  useDocumentTitle("Déverrouiller");
  const backend = useBackend();
  const [passphrase, setPassphrase] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [problem, setProblem] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    input.current?.focus();
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (!passphrase) {
      setFieldError("Saisissez votre phrase de passe.");
      input.current?.focus();
      return;
    }
    setBusy(true);
    setFieldError(null);
    setProblem(null);
    try {
      const profile = await backend.unlock(passphrase);
      onUnlocked(profile);
    } catch (raw) {
      const error = raw as IpcError;
      if (error.code === "wrong_passphrase" || error.code === "validation") {
        setFieldError(error.message);
        input.current?.select();
        input.current?.focus();
      } else {
        setProblem(error);
      }
    } finally {
      setBusy(false);
    }
  }

  const fatal = problem !== null && FATAL.has(problem.code);

  return (
    <div className="narrow">
      <h1>Votre dossier est verrouillé</h1>
      {afterInactivity ? (
        <p className="lead" data-testid="locked-after-inactivity">
          Tandem s’est verrouillé après une période sans activité. Vos saisies sont enregistrées.
        </p>
      ) : (
        <p className="lead">Saisissez votre phrase de passe pour rouvrir le dossier.</p>
      )}
      <div role="alert" className="alert-slot" data-testid="unlock-alert">
        {problem ? (
          <div className="alert alert--error">
            {problem.code === "keychain_unavailable" ? <p>{fr(KEYCHAIN_EXPLANATION)}</p> : null}
            <p>{fr(problem.message)}</p>
            {fatal ? (
              <p>{fr("Le dossier ne peut pas être ouvert sur cet ordinateur : contactez le service informatique de votre territoire.")}</p>
            ) : null}
          </div>
        ) : null}
      </div>
      {fatal ? null : (
        <form className="card form" onSubmit={submit} noValidate aria-label="Déverrouiller">
          <TextField
            label="Phrase de passe"
            type="password"
            name="passphrase"
            autoComplete="current-password"
            value={passphrase}
            onValueChange={(v) => {
              setPassphrase(v);
            }}
            error={fieldError}
            inputRef={input}
            data-testid="unlock-passphrase"
          />
          <div className="actions">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="unlock-submit">
              Déverrouiller
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
