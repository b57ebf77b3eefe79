// Autosaves that are scheduled or in flight. Locking the app first waits for them, so what was typed
// just before « Verrouiller » reaches the case file before the key is dropped.
type Flush = () => Promise<void>;

const flushers = new Set<Flush>();

export function registerFlusher(flush: Flush): () => void {
  flushers.add(flush);
  return () => {
    flushers.delete(flush);
  };
}

export async function flushPendingSaves(): Promise<void> {
  await Promise.allSettled([...flushers].map((flush) => flush()));
}
