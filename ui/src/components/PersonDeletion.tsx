// « Supprimer la fiche » at the end of the person form: for a file created by mistake (a duplicate,
// the wrong person). Asks for confirmation; a person with a finalised diagnostic keeps their file
// (Rust refuses with `finalised`). On an enrolled laptop the deletion also reaches the other
// structures' laptops at their next sync.
import { useState } from "react";
import { Dialog, Heading, Modal, ModalOverlay } from "react-aria-components";
import { useBackend } from "../lib/backendContext";
import { fr } from "../lib/format";
import { toIpcError } from "../lib/ipc";
import { CASELOAD_HREF, navigate } from "../lib/route";
import { useSyncStatus } from "../lib/syncStore";
import { shown } from "./ShareAccess";

export function PersonDeletion({ personId, name }: { personId: string; name: string }) {
  const backend = useBackend();
  const status = useSyncStatus();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const enrolled = status !== null && status.state !== "not_enrolled";

  async function confirm() {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await backend.deletePerson(personId);
      navigate(CASELOAD_HREF);
    } catch (raw) {
      const e = toIpcError(raw);
      if (shown(e)) setError(e.message);
      setBusy(false);
    }
  }

  return (
    <section className="card section deletion" aria-labelledby="deletion-title" data-testid="deletion">
      <h2 id="deletion-title">Supprimer la fiche</h2>
      <p className="hint">
        {fr("Pour une fiche créée par erreur (un doublon, une autre personne). Une personne qui a un diagnostic finalisé garde sa fiche.")}
      </p>
      <div className="actions">
        <button type="button" className="button button--danger" onClick={() => setConfirming(true)} data-testid="delete-person">
          Supprimer la fiche…
        </button>
      </div>
      <ModalOverlay
        isOpen={confirming}
        onOpenChange={(open) => {
          if (!open && !busy) {
            setConfirming(false);
            setError(null);
          }
        }}
        className="modal-overlay"
      >
        <Modal className="modal">
          <Dialog role="alertdialog" className="dialog" data-testid="delete-dialog">
            <div className="form">
              <Heading slot="title" className="dialog__title">
                Supprimer la fiche de {name}
              </Heading>
              <p>{fr("La fiche, ses brouillons de diagnostic et ses modifications non envoyées seront effacés de cet ordinateur.")}</p>
              {enrolled ? (
                <p>{fr("Les autres structures qui suivent cette personne ne verront plus son dossier : leurs ordinateurs l’effaceront à leur prochaine synchronisation.")}</p>
              ) : null}
              <div role="alert" className="alert-slot">
                {error ? (
                  <div className="alert alert--error" data-testid="delete-error">
                    <p>{fr(error)}</p>
                  </div>
                ) : null}
              </div>
              <div className="actions">
                <button
                  type="button"
                  className="button button--danger"
                  aria-disabled={busy || undefined}
                  onClick={() => void confirm()}
                  data-testid="delete-confirm"
                >
                  {busy ? "Suppression…" : "Supprimer la fiche"}
                </button>
                <button
                  type="button"
                  className="button"
                  onClick={() => {
                    if (busy) return;
                    setConfirming(false);
                    setError(null);
                  }}
                  autoFocus
                  data-testid="delete-cancel"
                >
                  Annuler
                </button>
              </div>
            </div>
          </Dialog>
        </Modal>
      </ModalOverlay>
    </section>
  );
}
