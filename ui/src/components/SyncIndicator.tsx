import { useEffect, useRef, useState } from "react";
import { Label, ProgressBar } from "react-aria-components";
import { useBackend } from "../lib/backendContext";
import { fr } from "../lib/format";
import { toIpcError } from "../lib/ipc";
import { CONFLICTS_HREF, REFUSED_HREF, useRoute } from "../lib/route";
import { useSyncStatus, useSyncStore } from "../lib/syncStore";
import { conflictsLabel, lastSyncLabel, pendingLabel, refusedLabel, STATE_LABELS, syncAnnouncement } from "../lib/syncLabels";

/**
 * The sync bar under the banner, on every screen of an unlocked file: state, progress, what is left
 * to send, open conflicts, and « Synchroniser ». Screen readers hear state changes through a polite
 * live region that ignores progress ticks.
 */
export function SyncIndicator() {
  const backend = useBackend();
  const store = useSyncStore();
  const status = useSyncStatus();
  const routeName = useRoute().name;
  const onConflictsScreen = routeName === "conflicts";
  const onRefusedScreen = routeName === "refused";
  const [actionError, setActionError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  // Announce transitions only: adjust state while rendering, not in an effect.
  const key = status ? `${status.state}|${status.conflicts}` : "";
  const [lastKey, setLastKey] = useState(key);
  const [announcement, setAnnouncement] = useState("");
  if (key !== lastKey) {
    setLastKey(key);
    setActionError(null);
    if (status && lastKey !== "") setAnnouncement(syncAnnouncement(status));
  }

  // Sticky headers below (the interview's) sit under the bar: tell them its height.
  const bar = useRef<HTMLElement>(null);
  useEffect(() => {
    const el = bar.current;
    if (!el) return;
    const root = document.documentElement;
    const observer = new ResizeObserver(() => root.style.setProperty("--syncbar-height", `${el.offsetHeight}px`));
    observer.observe(el);
    return () => {
      observer.disconnect();
      root.style.removeProperty("--syncbar-height");
    };
  }, []);

  const syncing = status?.state === "syncing";
  const enrolled = status !== null && status.state !== "not_enrolled";

  async function syncNow() {
    if (syncing || starting) return;
    setStarting(true);
    setActionError(null);
    try {
      store.update(await backend.syncNow());
    } catch (raw) {
      const error = toIpcError(raw);
      if (error.code !== "device_revoked" && error.code !== "locked") {
        setActionError(error.message);
        setAnnouncement(error.message);
      }
    } finally {
      setStarting(false);
    }
  }

  const details: string[] = [];
  if (status && enrolled) {
    if (status.state === "up_to_date") details.push(lastSyncLabel(status.last_synced_at));
    if ((status.state === "offline" || status.state === "error") && status.message) details.push(status.message);
    if (status.pending_changes > 0) details.push(pendingLabel(status.pending_changes));
    if (status.refused_changes > 0) details.push(refusedLabel(status.refused_changes));
  } else if (status) {
    details.push("le dossier reste sur cet ordinateur");
  }

  return (
    <section ref={bar} aria-label="Synchronisation" className={`syncbar syncbar--${status?.state ?? "unknown"}`} data-testid="sync-indicator">
      <div className="syncbar__inner">
        <p className="visually-hidden" role="status" data-testid="sync-announcement">
          {fr(announcement)}
        </p>
        {status ? (
          <>
            {syncing ? (
              <ProgressBar
                className="sync-progress"
                value={status.progress === null ? undefined : Math.round(status.progress * 100)}
                isIndeterminate={status.progress === null}
                data-testid="sync-progress"
              >
                {({ percentage, valueText, isIndeterminate }) => (
                  <>
                    <span className="syncbar__state">
                      <span className="syncbar__dot" aria-hidden="true" />
                      <Label>{STATE_LABELS.syncing}</Label>
                      {isIndeterminate ? null : <span className="sync-progress__value">{valueText}</span>}
                    </span>
                    <span className={`sync-progress__track${isIndeterminate ? " sync-progress__track--indeterminate" : ""}`}>
                      <span className="sync-progress__fill" style={isIndeterminate ? undefined : { width: `${percentage ?? 0}%` }} />
                    </span>
                  </>
                )}
              </ProgressBar>
            ) : (
              <p className="syncbar__state" data-testid="sync-state" data-last-synced={status.last_synced_at ?? ""}>
                <span className="syncbar__dot" aria-hidden="true" />
                {STATE_LABELS[status.state]}
              </p>
            )}
            {details.length > 0 ? (
              <p className="syncbar__details" data-testid="sync-details">
                {details.map((d) => (
                  <span key={d}>{fr(d)}</span>
                ))}
              </p>
            ) : null}
            {actionError ? (
              <p className="syncbar__error" data-testid="sync-error">
                {fr(actionError)}
              </p>
            ) : null}
            <div className="syncbar__actions">
              {status.conflicts > 0 ? (
                <a
                  href={CONFLICTS_HREF}
                  className="syncbar__conflicts"
                  aria-current={onConflictsScreen ? "page" : undefined}
                  data-testid="sync-conflicts"
                >
                  <span aria-hidden="true" className="syncbar__conflicts-icon">
                    !
                  </span>
                  {conflictsLabel(status.conflicts)}
                </a>
              ) : null}
              {status.refused_changes > 0 ? (
                <a
                  href={REFUSED_HREF}
                  className="syncbar__conflicts"
                  aria-current={onRefusedScreen ? "page" : undefined}
                  data-testid="sync-refused"
                >
                  Voir les modifications refusées
                </a>
              ) : null}
              {enrolled ? (
                <button
                  type="button"
                  className="button"
                  onClick={() => void syncNow()}
                  aria-disabled={syncing || starting || undefined}
                  data-testid="sync-now"
                >
                  Synchroniser
                </button>
              ) : null}
            </div>
          </>
        ) : (
          <p className="syncbar__state">État de la synchronisation…</p>
        )}
      </div>
    </section>
  );
}
