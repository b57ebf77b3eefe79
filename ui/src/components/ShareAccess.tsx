// The structures that see the person's file with their consent, asked of the server on demand, and
// the withdrawal of that consent (GDPR: the person may withdraw it at any time).
import { useEffect, useId, useRef, useState } from "react";
import { Dialog, Heading, Modal, ModalOverlay } from "react-aria-components";
import type { ShareView } from "../bindings/ShareView";
import { useBackend } from "../lib/backendContext";
import { fr } from "../lib/format";
import { toIpcError, type IpcError } from "../lib/ipc";

export type Shares = { state: "loading" } | { state: "loaded"; items: ShareView[] } | { state: "failed"; message: string };

/** `locked` and `device_revoked` change the whole screen (session watch): nothing to say here. */
export function shown(error: IpcError): boolean {
  return error.code !== "locked" && error.code !== "device_revoked";
}

export function ShareAccess({
  id,
  personId,
  shares,
  onRetry,
  onWithdrawn,
}: {
  id: string;
  personId: string;
  shares: Shares;
  onRetry: () => void;
  onWithdrawn: (structureId: string) => void;
}) {
  const [confirming, setConfirming] = useState<ShareView | null>(null);
  const [withdrawn, setWithdrawn] = useState<string | null>(null);
  const doneRef = useRef<HTMLDivElement>(null);
  const titleId = useId();

  // The button that opened the dialog is gone with its row: take focus to what happened instead.
  useEffect(() => {
    if (withdrawn) doneRef.current?.focus();
  }, [withdrawn]);

  return (
    <div id={id} className="sharing__access" data-testid="share-access">
      <h3 id={titleId} className="sharing__subtitle">Structures qui ont accès au dossier</h3>
      <div role="status" className="alert-slot">
        {withdrawn ? (
          <div className="alert alert--ok" tabIndex={-1} ref={doneRef} data-testid="withdraw-success">
            <p>{fr(`L’accord est retiré. ${withdrawn} ne verra plus ce dossier.`)}</p>
          </div>
        ) : null}
      </div>
      {shares.state === "loading" ? (
        <p role="status" data-testid="shares-loading">
          Chargement…
        </p>
      ) : null}
      <div role="alert" className="alert-slot">
        {shares.state === "failed" && shares.message ? (
          <div className="alert alert--error" data-testid="shares-error">
            <p>{fr(shares.message)}</p>
          </div>
        ) : null}
      </div>
      {shares.state === "failed" ? (
        <div className="actions">
          <button type="button" className="button" onClick={onRetry}>
            Réessayer
          </button>
        </div>
      ) : null}
      {shares.state === "loaded" && shares.items.length === 0 ? (
        <p data-testid="shares-empty">Aucune autre structure n’a accès à ce dossier.</p>
      ) : null}
      {shares.state === "loaded" && shares.items.length > 0 ? (
        <ul className="share-list" aria-labelledby={titleId} data-testid="shares-list">
          {shares.items.map((share) => (
            <li key={share.structure_id} className="share-row">
              <div>
                <p className="share-row__name">{share.structure_name}</p>
                {share.share_social_notes ? (
                  <p className="hint">y compris les notes réservées au travail social</p>
                ) : null}
              </div>
              <button
                type="button"
                className="button"
                aria-label={`Retirer l’accord de ${share.structure_name}`}
                onClick={() => {
                  setWithdrawn(null);
                  setConfirming(share);
                }}
                data-testid="withdraw-open"
              >
                Retirer l’accord
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <WithdrawDialog
        personId={personId}
        share={confirming}
        onClose={() => setConfirming(null)}
        onWithdrawn={(share) => {
          setConfirming(null);
          setWithdrawn(share.structure_name);
          onWithdrawn(share.structure_id);
        }}
      />
    </div>
  );
}

function WithdrawDialog({
  personId,
  share,
  onClose,
  onWithdrawn,
}: {
  personId: string;
  share: ShareView | null;
  onClose: () => void;
  onWithdrawn: (share: ShareView) => void;
}) {
  const backend = useBackend();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [shownFor, setShownFor] = useState<ShareView | null>(share);

  // A new question starts clean (state reset while rendering, as React recommends).
  if (shownFor !== share) {
    setShownFor(share);
    setBusy(false);
    setError(null);
  }

  async function confirm() {
    if (busy || !share) return;
    setBusy(true);
    setError(null);
    try {
      await backend.withdrawShare(personId, share.structure_id);
      onWithdrawn(share);
    } catch (raw) {
      const e = toIpcError(raw);
      if (shown(e)) setError(e.message);
      setBusy(false);
    }
  }

  return (
    <ModalOverlay
      isOpen={share !== null}
      onOpenChange={(open) => {
        if (!open && !busy) onClose();
      }}
      className="modal-overlay"
    >
      <Modal className="modal">
        <Dialog role="alertdialog" className="dialog" data-testid="withdraw-dialog">
          <div className="form">
            <Heading slot="title" className="dialog__title">
              Retirer l’accord de partage
            </Heading>
            <p>
              {fr(
                `${share?.structure_name ?? ""} ne verra plus ce dossier. Ses ordinateurs l’effaceront à leur prochaine synchronisation.`,
              )}
            </p>
            <div role="alert" className="alert-slot">
              {error ? (
                <div className="alert alert--error" data-testid="withdraw-error">
                  <p>{fr(error)}</p>
                </div>
              ) : null}
            </div>
            <div className="actions">
              <button
                type="button"
                className="button button--primary"
                aria-disabled={busy || undefined}
                onClick={() => void confirm()}
                data-testid="withdraw-confirm"
              >
                {busy ? "Retrait en cours…" : "Retirer l’accord"}
              </button>
              <button type="button" className="button" onClick={() => !busy && onClose()} autoFocus data-testid="withdraw-cancel">
                Annuler
              </button>
            </div>
          </div>
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}
