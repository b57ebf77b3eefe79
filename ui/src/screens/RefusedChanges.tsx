import { useEffect, useRef, useState } from "react";
import type { RefusedChangeView } from "../bindings/RefusedChangeView";
import { useBackend } from "../lib/backendContext";
import { frenchDateTime } from "../lib/diagnosticLabels";
import { fr } from "../lib/format";
import { toIpcError } from "../lib/ipc";
import { CASELOAD_HREF, personHref, useDocumentTitle } from "../lib/route";
import { refusedLabel } from "../lib/syncLabels";
import { useSyncStatus } from "../lib/syncStore";

/**
 * The local edits the territory server refused, reached from the sync bar. Nothing is lost: each
 * edit stays on this laptop, with the server's reason and what to do about it.
 */
export function RefusedChanges() {
  useDocumentTitle("Modifications refusées");
  const backend = useBackend();
  const refusedCount = useSyncStatus()?.refused_changes ?? null;
  const [changes, setChanges] = useState<RefusedChangeView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  // Read again when the sync bar's count changes.
  useEffect(() => {
    let cancelled = false;
    backend.listRefusedChanges().then(
      (list) => {
        if (cancelled) return;
        setChanges(list);
        setError(null);
      },
      (raw) => {
        if (!cancelled) setError(toIpcError(raw).message);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [backend, refusedCount]);

  return (
    <div className="conflicts refused">
      <p className="back">
        <a href={CASELOAD_HREF} className="back-link">
          <span aria-hidden="true">←</span> Retour à la liste
        </a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        Modifications refusées
      </h1>
      <p className="lead">
        {fr(
          "Le serveur du territoire n’a pas accepté ces modifications. Elles restent sur cet ordinateur et ne sont pas renvoyées ; la raison indique quoi faire.",
        )}
      </p>
      <div role="alert" className="alert-slot">
        {error ? (
          <div className="alert alert--error" data-testid="refused-error">
            <p>{fr(error)}</p>
          </div>
        ) : null}
      </div>
      {changes === null && !error ? <p className="hint">Chargement…</p> : null}
      {changes !== null && changes.length === 0 ? (
        <p className="conflicts__empty" data-testid="refused-empty">
          {fr("Aucune modification refusée : le serveur a accepté tout ce que cet ordinateur a envoyé.")}
        </p>
      ) : null}
      {changes !== null && changes.length > 0 ? (
        <>
          <p className="hint conflicts__count" data-testid="refused-count">
            {refusedLabel(changes.length)}
          </p>
          <ul className="conflict-list">
            {changes.map((c) => (
              <li key={c.mutation_id} className="conflict" data-testid="refused-change">
                <h2 className="conflict__title">
                  <span className="conflict__field">{c.field_label}</span>
                  <span className="visually-hidden">, </span>
                  <span className="conflict__record">
                    {c.record} — <a href={personHref(c.person_id)}>{c.person_name}</a>
                  </span>
                </h2>
                <p className={`conflict-option__value${c.value.length > 80 ? " conflict-option__value--long" : ""}`}>
                  {c.value.trim() === "" ? <span className="conflict-option__empty">Aucune valeur (champ vidé)</span> : c.value}
                </p>
                <p className="conflict-option__meta">
                  <span>Saisie sur cet ordinateur le {frenchDateTime(c.at)}</span>
                </p>
                <p className="refused__reason" data-testid="refused-reason">
                  {fr(c.reason)}
                </p>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
