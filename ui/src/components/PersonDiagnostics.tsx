// The « Diagnostics » section of the person form: every version of every diagnostic of this person,
// and the button that starts a new one.
import { useEffect, useState } from "react";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import { useBackend } from "../lib/backendContext";
import { frenchDay, ORIENTATION_LABELS, versionLabel } from "../lib/diagnosticLabels";
import { fr, frenchDate } from "../lib/format";
import { toIpcError } from "../lib/ipc";
import { flushPendingSaves } from "../lib/pendingSaves";
import { diagnosticHref, navigate } from "../lib/route";

export function PersonDiagnostics({ personId }: { personId: string }) {
  const backend = useBackend();
  const [items, setItems] = useState<DiagnosticSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  useEffect(() => {
    let cancelled = false;
    backend.listDiagnostics(personId).then(
      (list) => {
        if (!cancelled) setItems(list);
      },
      (raw: unknown) => {
        if (!cancelled) setError(toIpcError(raw).message);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [backend, personId]);

  const start = async () => {
    if (starting) return;
    setStarting(true);
    setError(null);
    try {
      await flushPendingSaves();
      const d = await backend.startDiagnostic(personId);
      navigate(diagnosticHref(d.id));
    } catch (raw) {
      setError(toIpcError(raw).message);
      setStarting(false);
    }
  };

  return (
    <section className="card section diagnostics" aria-labelledby="diagnostics-title">
      <div className="diagnostics__head">
        <h2 id="diagnostics-title">Diagnostics</h2>
        <button
          type="button"
          className="button button--primary"
          onClick={() => void start()}
          aria-disabled={starting || undefined}
          data-testid="start-diagnostic"
        >
          Commencer un diagnostic
        </button>
      </div>
      {error ? (
        <p role="alert" className="alert alert--error">
          {fr(error)}
        </p>
      ) : null}
      {items === null ? (
        error ? null : <p>Chargement des diagnostics…</p>
      ) : items.length === 0 ? (
        <p className="hint" data-testid="no-diagnostic">
          Aucun diagnostic pour l’instant.
        </p>
      ) : (
        <ul className="diagnostic-list">
          {items.map((d) => (
            <li key={d.id}>
              <a href={diagnosticHref(d.id)} className="diagnostic-row" data-testid="diagnostic-row">
                <span className="diagnostic-row__title">
                  {d.date ? `Diagnostic du ${frenchDate(d.date)}` : "Diagnostic sans date"}, {versionLabel(d.version)}
                </span>
                <span className="diagnostic-row__meta">
                  <span className={`badge${d.status === "finalised" ? " badge--ok" : ""}`}>
                    {d.status === "finalised" ? `Finalisé le ${frenchDay(d.finalised_at)}` : "Brouillon"}
                  </span>
                  <span>{[d.caseworker_name, d.co_interviewer_name].filter(Boolean).join(" et ")}</span>
                  {d.orientation ? <span>{fr(`Orientation : ${ORIENTATION_LABELS[d.orientation].toLowerCase()}`)}</span> : null}
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
