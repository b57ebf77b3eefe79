import { Dialog, Heading, Modal, ModalOverlay } from "react-aria-components";
import { fr } from "../lib/format";
import { FALLBACK_MESSAGE } from "../lib/ipc";

const DEFAULT_MESSAGE =
  "L’administrateur du territoire a retiré cet ordinateur. Le dossier qu’il contenait a été effacé. Pour continuer à utiliser Tandem, adressez-vous au service informatique de votre territoire.";

/**
 * Says, once, why the case file is gone: the territory withdrew this laptop (lost, stolen, handed
 * over) and Rust erased its local file. The first-run screen waits behind it.
 */
export function RevokedDialog({ message, onClose }: { message: string | null; onClose: () => void }) {
  const text = message === null || message === FALLBACK_MESSAGE ? DEFAULT_MESSAGE : message;
  return (
    <ModalOverlay
      isOpen={message !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
      className="modal-overlay"
    >
      <Modal className="modal">
        <Dialog role="alertdialog" className="dialog" data-testid="revoked-dialog">
          {({ close }) => (
            <div className="form revoked">
              <Heading slot="title" className="dialog__title">
                Cet ordinateur a été retiré du territoire
              </Heading>
              <p>{fr(text)}</p>
              <p className="hint">
                {fr("Tandem revient à l’écran de premier démarrage.")}
              </p>
              <div className="actions">
                <button type="button" className="button button--primary" onClick={close} autoFocus data-testid="revoked-ok">
                  J’ai compris
                </button>
              </div>
            </div>
          )}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}
