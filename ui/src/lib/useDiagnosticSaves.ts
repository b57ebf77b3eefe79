// Autosave for the interview screen: every change is one `edit_diagnostic` call, queued so the case
// file sees edits in the order they were made. Text waits AUTOSAVE_DELAY_MS after the last keystroke
// (or leaves at once on blur, step change or lock); choices leave at once. What the caseworker typed
// stays in the field whatever the answer, so a refused value is never lost from the screen.
import { useCallback, useEffect, useRef, useState } from "react";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticEdit } from "../bindings/DiagnosticEdit";
import type { Backend, IpcError } from "./ipc";
import { toIpcError } from "./ipc";
import { registerFlusher } from "./pendingSaves";

export const AUTOSAVE_DELAY_MS = 500;

type MakeEdit = () => DiagnosticEdit | null;

export interface DiagnosticSaves {
  diag: Diagnostic;
  /** Error messages by slot key (one slot per input). */
  errors: Record<string, string>;
  statusText: string;
  statusKind: "" | "ok" | "error";
  /** The value to show in a text input: what was typed here, else what is saved. */
  draft(key: string, saved: string): string;
  /** A keystroke: keep it on screen and save it after the delay. `make` builds the edit when it leaves. */
  typeText(key: string, value: string, make: (value: string) => DiagnosticEdit | null): void;
  /** Sends a slot's waiting text now (on blur). */
  flushKey(key: string): void;
  /** A choice (radio, select): shown at once, saved at once. */
  choose(key: string, value: string, edit: DiagnosticEdit): Promise<boolean>;
  list(key: string, saved: string[]): string[];
  setList(key: string, values: string[], edit: DiagnosticEdit): Promise<boolean>;
  /** An explicit command (add, remove, sign): saved at once, resolves to whether it was accepted. */
  send(key: string, edit: DiagnosticEdit): Promise<boolean>;
  flushAll(): Promise<void>;
  /** Replaces the diagnostic after finalising. */
  replace(d: Diagnostic): void;
}

export function useDiagnosticSaves(backend: Backend, initial: Diagnostic): DiagnosticSaves {
  const id = initial.id;
  const [diag, setDiag] = useState(initial);
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [lists, setLists] = useState<Record<string, string[]>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [pending, setPending] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [savedOnce, setSavedOnce] = useState(false);

  const timers = useRef(new Map<string, { timer: ReturnType<typeof setTimeout>; make: MakeEdit }>());
  const seqs = useRef(new Map<string, number>());
  const queue = useRef<Promise<void>>(Promise.resolve());
  const pendingCount = useRef(0);

  const changePending = useCallback((delta: number) => {
    pendingCount.current += delta;
    setPending(pendingCount.current);
  }, []);

  /** Queues one edit; the caller has already counted it as pending. */
  const enqueue = useCallback(
    (key: string, edit: DiagnosticEdit | null): Promise<boolean> => {
      const seq = (seqs.current.get(key) ?? 0) + 1;
      seqs.current.set(key, seq);
      const latest = () => seqs.current.get(key) === seq;
      let done: (ok: boolean) => void = () => undefined;
      const result = new Promise<boolean>((resolve) => {
        done = resolve;
      });
      queue.current = queue.current.then(async () => {
        let ok = false;
        try {
          if (edit === null) {
            ok = true;
            return;
          }
          const saved = await backend.editDiagnostic(id, edit);
          ok = true;
          setDiag(saved);
          setSavedOnce(true);
          setProblem(null);
          if (latest()) {
            setErrors((prev) => {
              if (!(key in prev)) return prev;
              const { [key]: _cleared, ...rest } = prev;
              return rest;
            });
          }
        } catch (raw) {
          const error: IpcError = toIpcError(raw);
          if (error.code === "validation") {
            if (latest()) setErrors((prev) => ({ ...prev, [key]: error.message }));
          } else {
            setProblem(error.message);
            if (error.code === "finalised") {
              // Finalised elsewhere (another window, a sync): show it as it now is, read-only.
              backend.getDiagnostic(id).then(setDiag, () => undefined);
            }
          }
        } finally {
          changePending(-1);
          done(ok);
        }
      });
      return result;
    },
    [backend, id, changePending],
  );

  const schedule = useCallback(
    (key: string, make: MakeEdit, delay: number) => {
      const scheduled = timers.current.get(key);
      if (scheduled) clearTimeout(scheduled.timer);
      else changePending(1);
      const timer = setTimeout(() => {
        timers.current.delete(key);
        void enqueue(key, make());
      }, delay);
      timers.current.set(key, { timer, make });
    },
    [enqueue, changePending],
  );

  const flushKey = useCallback(
    (key: string) => {
      const scheduled = timers.current.get(key);
      if (!scheduled) return;
      clearTimeout(scheduled.timer);
      timers.current.delete(key);
      void enqueue(key, scheduled.make());
    },
    [enqueue],
  );

  const flushAll = useCallback(async () => {
    for (const key of [...timers.current.keys()]) flushKey(key);
    await queue.current;
  }, [flushKey]);

  useEffect(() => {
    const unregister = registerFlusher(flushAll);
    return () => {
      unregister();
      // Leaving the screen (person form, list, lock): send what is still waiting for its delay.
      void flushAll();
    };
  }, [flushAll]);

  const send = useCallback(
    (key: string, edit: DiagnosticEdit) => {
      changePending(1);
      return enqueue(key, edit);
    },
    [enqueue, changePending],
  );

  const errorCount = Object.keys(errors).length;
  let statusText = "";
  if (pending > 0) statusText = "Enregistrement…";
  else if (errorCount > 0) statusText = "Non enregistré : corrigez le champ signalé";
  else if (problem) statusText = `Non enregistré : ${problem}`;
  else if (savedOnce) statusText = "Enregistré";
  const statusKind = pending > 0 ? "" : errorCount > 0 || problem ? "error" : savedOnce ? "ok" : "";

  return {
    diag,
    errors,
    statusText,
    statusKind,
    draft: (key, saved) => drafts[key] ?? saved,
    typeText: (key, value, make) => {
      setDrafts((prev) => ({ ...prev, [key]: value }));
      schedule(key, () => make(value), AUTOSAVE_DELAY_MS);
    },
    flushKey,
    choose: (key, value, edit) => {
      setDrafts((prev) => ({ ...prev, [key]: value }));
      return send(key, edit);
    },
    list: (key, saved) => lists[key] ?? saved,
    setList: (key, values, edit) => {
      setLists((prev) => ({ ...prev, [key]: values }));
      return send(key, edit);
    },
    send,
    flushAll,
    replace: setDiag,
  };
}
