import { createContext, useContext, useSyncExternalStore } from "react";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { Backend } from "./ipc";

/** While a sync runs the bar moves; otherwise a slower poll is enough to notice the network. */
export const POLL_SYNCING_MS = 1_000;
export const POLL_IDLE_MS = 5_000;

/**
 * The sync status, polled from Rust while the file is unlocked. A store rather than App state so
 * that a progress tick re-renders the sync bar only, not the interview being typed.
 */
export interface SyncStore {
  subscribe(onChange: () => void): () => void;
  /** Null until the first answer, and while polling is stopped. */
  getSnapshot(): SyncStatus | null;
  /** Starts polling; answers the function that stops it. */
  start(): () => void;
  /** Takes a status a command just answered (enrolment, sync now) and polls again at once. */
  update(status: SyncStatus): void;
  /** Asks again now (after resolving a conflict, for example). */
  refresh(): void;
}

/**
 * A refused poll keeps the last known status: `locked` and `device_revoked` are handled by the
 * session watch around the backend.
 */
export function createSyncStore(backend: Backend): SyncStore {
  let snapshot: SyncStatus | null = null;
  let running = false;
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listeners = new Set<() => void>();

  function set(next: SyncStatus | null) {
    if (JSON.stringify(next) === JSON.stringify(snapshot)) return;
    snapshot = next;
    for (const l of listeners) l();
  }

  async function poll() {
    clearTimeout(timer);
    const mine = ++generation;
    let delay = POLL_IDLE_MS;
    try {
      const next = await backend.syncStatus();
      if (!running || mine !== generation) return;
      set(next);
      if (next.state === "syncing") delay = POLL_SYNCING_MS;
    } catch {
      if (!running || mine !== generation) return;
    }
    timer = setTimeout(() => void poll(), delay);
  }

  return {
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    getSnapshot: () => snapshot,
    start() {
      running = true;
      void poll();
      return () => {
        running = false;
        generation += 1;
        clearTimeout(timer);
        set(null);
      };
    },
    update(status) {
      set(status);
      if (running) void poll();
    },
    refresh() {
      if (running) void poll();
    },
  };
}

export const SyncContext = createContext<SyncStore | null>(null);

export function useSyncStore(): SyncStore {
  const store = useContext(SyncContext);
  if (!store) throw new Error("useSyncStore outside <SyncContext>");
  return store;
}

export function useSyncStatus(): SyncStatus | null {
  const store = useSyncStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
