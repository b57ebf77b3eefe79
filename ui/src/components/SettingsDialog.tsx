import { useEffect, useState, type FormEvent } from "react";
import { Dialog, Heading, Modal, ModalOverlay } from "react-aria-components";
import type { Profile } from "../bindings/Profile";
import { useBackend } from "../lib/backendContext";
import type { IpcError } from "../lib/ipc";
import { fr } from "../lib/format";
import { TextField } from "./Field";
import { ServerSection } from "./ServerSection";

export function SettingsDialog({
  isOpen,
  onOpenChange,
  profile,
  onSaved,
}: {
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  profile: Profile;
  onSaved: (profile: Profile) => void;
}) {
  return (
    <ModalOverlay isOpen={isOpen} onOpenChange={onOpenChange} isDismissable className="modal-overlay">
      <Modal className="modal">
        <Dialog className="dialog" data-testid="settings-dialog">
          {({ close }) => (
            <div className="form">
              <SettingsForm profile={profile} onSaved={onSaved} />
              <ServerSection />
              <ReferenceCredits />
              <div className="actions dialog__footer">
                <button type="button" className="button" onClick={close}>
                  Fermer
                </button>
              </div>
            </div>
          )}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

function SettingsForm({ profile, onSaved }: { profile: Profile; onSaved: (p: Profile) => void }) {
  const backend = useBackend();
  const [minutes, setMinutes] = useState(String(profile.lock_after_minutes));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const n = Number(minutes.trim());
    if (!/^\d+$/.test(minutes.trim()) || !Number.isSafeInteger(n)) {
      setError("Saisissez un nombre entier de minutes, par exemple 10.");
      return;
    }
    setBusy(true);
    try {
      onSaved(await backend.setLockAfterMinutes(n));
    } catch (raw) {
      setError((raw as IpcError).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="form">
      <Heading slot="title" className="dialog__title">
        Paramètres
      </Heading>
      <dl className="profile-facts">
        <div>
          <dt>Profil</dt>
          <dd>{profile.caseworker_name}</dd>
        </div>
        <div>
          <dt>Structure</dt>
          <dd>{profile.structure_name}</dd>
        </div>
        <div>
          <dt>Rôle</dt>
          <dd>{profile.role === "social" ? "Travail social" : "Emploi"}</dd>
        </div>
      </dl>
      <TextField
        label="Verrouiller après (minutes sans activité)"
        hint="Entre 1 et 120 minutes. Tandem se verrouille pour protéger le dossier si vous vous éloignez de l’ordinateur."
        inputMode="numeric"
        name="lock_after_minutes"
        value={minutes}
        onValueChange={(v) => {
          setMinutes(v);
          setError(null);
        }}
        error={error}
        autoFocus
        data-testid="settings-lock-minutes"
      />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="settings-save">
          Enregistrer
        </button>
      </div>
      <p className="hint">{fr("Raccourci : le bouton « Verrouiller » en haut de l’écran verrouille tout de suite.")}</p>
    </form>
  );
}

/** Where the national reference data comes from: its licence asks for this attribution. */
function ReferenceCredits() {
  const backend = useBackend();
  const [credits, setCredits] = useState<{ attribution: string; version: string } | null>(null);
  useEffect(() => {
    let cancelled = false;
    backend.referentiel().then(
      (r) => {
        if (!cancelled) setCredits({ attribution: r.attribution, version: r.version });
      },
      () => {},
    );
    return () => {
      cancelled = true;
    };
  }, [backend]);
  if (!credits) return null;
  return (
    <section className="credits" aria-labelledby="credits-heading" data-testid="reference-credits">
      <h3 id="credits-heading">Données de référence</h3>
      <p className="hint">
        {fr(`Référentiel du diagnostic (version ${credits.version}) : ${credits.attribution}.`)}
        <br />
        {fr("Codes et appellations des métiers : ROME — France Travail.")}
      </p>
    </section>
  );
}
