import { useEffect, useRef, useState } from "react";
import type { ConflictOption } from "../bindings/ConflictOption";
import type { ConflictView } from "../bindings/ConflictView";
import { useBackend } from "../lib/backendContext";
import { frenchDateTime } from "../lib/diagnosticLabels";
import { fr } from "../lib/format";
import { toIpcError } from "../lib/ipc";
import { CASELOAD_HREF, personHref, useDocumentTitle } from "../lib/route";
import { conflictsLabel } from "../lib/syncLabels";
import { useSyncStatus, useSyncStore } from "../lib/syncStore";

interface PersonGroup {
  personId: string;
  personName: string;
  conflicts: ConflictView[];
}

/** Keeps the server's order of persons (first conflict first) and of conflicts within a person. */
function byPerson(conflicts: ConflictView[]): PersonGroup[] {
  const groups = new Map<string, PersonGroup>();
  for (const c of conflicts) {
    let group = groups.get(c.person_id);
    if (!group) {
      group = { personId: c.person_id, personName: c.person_name, conflicts: [] };
      groups.set(c.person_id, group);
    }
    group.conflicts.push(c);
  }
  return [...groups.values()];
}

function headingId(conflictId: string): string {
  return `conflict-${conflictId}`;
}

/**
 * The fields two laptops changed at the same time: every competing value side by side, and one
 * button per value to keep it. When a sync brings or closes conflicts, the list is read again.
 */
export function Conflicts() {
  useDocumentTitle("Conflits à résoudre");
  const backend = useBackend();
  const syncStore = useSyncStore();
  const conflictCount = useSyncStatus()?.conflicts ?? null;
  const [conflicts, setConflicts] = useState<ConflictView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const emptyState = useRef<HTMLParagraphElement>(null);
  const focusAfterLoad = useRef<number | null>(null);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  // Read again when the sync bar's count changes (a sync brought or closed some) and after a choice.
  useEffect(() => {
    let cancelled = false;
    backend.listConflicts().then(
      (list) => {
        if (cancelled) return;
        setConflicts(list);
        setError(null);
      },
      (raw) => {
        if (!cancelled) setError(toIpcError(raw).message);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [backend, conflictCount, reads]);

  async function keep(conflict: ConflictView, option: ConflictOption) {
    if (busy || !conflicts) return;
    setBusy(conflict.id);
    setDone("");
    setActionError(null);
    const flat = byPerson(conflicts).flatMap((g) => g.conflicts);
    const index = flat.findIndex((c) => c.id === conflict.id);
    try {
      await backend.resolveConflict(conflict.id, option.mutation_id);
      const kept = option.value.trim() === "" ? "le champ vidé est gardé" : `la valeur « ${option.value} » est gardée`;
      setDone(fr(`Conflit résolu. ${conflict.field_label} (${conflict.person_name}) : ${kept}.`));
    } catch (raw) {
      // Resolved elsewhere meanwhile, for example: the list is read again and says what is left.
      setActionError(toIpcError(raw).message);
    } finally {
      setBusy(null);
    }
    syncStore.refresh();
    // The button that had focus goes away: focus then moves on to the conflict that takes its place.
    focusAfterLoad.current = index;
    setReads((n) => n + 1);
  }

  useEffect(() => {
    const index = focusAfterLoad.current;
    if (index === null || conflicts === null) return;
    focusAfterLoad.current = null;
    const remaining = byPerson(conflicts).flatMap((g) => g.conflicts);
    const next = remaining[Math.min(index, remaining.length - 1)];
    const target = next ? document.getElementById(headingId(next.id)) : (emptyState.current ?? heading.current);
    target?.focus();
  }, [conflicts]);

  const groups = conflicts ? byPerson(conflicts) : [];

  return (
    <div className="conflicts">
      <p className="back">
        <a href={CASELOAD_HREF} className="back-link">
          <span aria-hidden="true">←</span> Retour à la liste
        </a>
      </p>
      <h1 ref={heading} tabIndex={-1}>
        Conflits à résoudre
      </h1>
      <p className="lead">
        {fr(
          "Deux ordinateurs ont modifié la même information avant de se synchroniser. Tandem affiche pour l’instant l’une des valeurs ; choisissez celle qui est juste. Les autres structures qui suivent la personne verront votre choix à leur prochaine synchronisation.",
        )}
      </p>
      <p role="status" className="conflicts__done" data-testid="conflict-done">
        {done}
      </p>
      <div role="alert" className="alert-slot">
        {error || actionError ? (
          <div className="alert alert--error" data-testid="conflicts-error">
            {actionError ? <p>{fr(actionError)}</p> : null}
            {error ? <p>{fr(error)}</p> : null}
          </div>
        ) : null}
      </div>
      {conflicts === null && !error ? <p className="hint">Chargement des conflits…</p> : null}
      {conflicts !== null && conflicts.length === 0 ? (
        <p className="conflicts__empty" ref={emptyState} tabIndex={-1} data-testid="conflicts-empty">
          {fr("Aucun conflit à résoudre : les informations de ce dossier sont les mêmes sur tous les ordinateurs.")}
        </p>
      ) : null}
      {conflicts !== null && conflicts.length > 0 ? (
        <p className="hint conflicts__count" data-testid="conflicts-count">
          {conflictsLabel(conflicts.length)}
        </p>
      ) : null}
      {groups.map((group) => (
        <section key={group.personId} className="conflict-person" aria-labelledby={`person-${group.personId}`} data-testid="conflict-person">
          <h2 id={`person-${group.personId}`}>
            <a href={personHref(group.personId)}>{group.personName}</a>
          </h2>
          <ul className="conflict-list">
            {group.conflicts.map((c) => (
              <li key={c.id} className="conflict" data-testid="conflict">
                <h3 id={headingId(c.id)} tabIndex={-1} className="conflict__title">
                  <span className="conflict__field">{c.field_label}</span>
                  <span className="visually-hidden">, </span>
                  <span className="conflict__record">{c.record}</span>
                </h3>
                <ul className="conflict__options" aria-label={`Valeurs en concurrence pour ${c.field_label}`}>
                  {c.options.map((o) => (
                    <ConflictChoice key={o.mutation_id} option={o} disabled={busy !== null} onKeep={() => void keep(c, o)} />
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

function ConflictChoice({ option, disabled, onKeep }: { option: ConflictOption; disabled: boolean; onKeep: () => void }) {
  const id = `option-${option.mutation_id}`;
  return (
    <li className={`conflict-option${option.shown ? " conflict-option--shown" : ""}`} data-testid="conflict-option">
      <p className={`conflict-option__value${option.value.length > 80 ? " conflict-option__value--long" : ""}`} id={`${id}-value`}>
        {option.value.trim() === "" ? <span className="conflict-option__empty">Aucune valeur (champ vidé)</span> : option.value}
      </p>
      <p className="conflict-option__meta" id={`${id}-meta`}>
        <span>Saisie par {option.author}</span>
        <span>le {frenchDateTime(option.at)}</span>
      </p>
      {option.shown ? (
        <p className="badge conflict-option__shown" data-testid="conflict-shown">
          Affichée actuellement
        </p>
      ) : null}
      <button
        type="button"
        className="button"
        onClick={onKeep}
        aria-disabled={disabled || undefined}
        aria-describedby={`${id}-value ${id}-meta`}
        data-testid="keep-value"
      >
        Garder cette valeur
      </button>
    </li>
  );
}
