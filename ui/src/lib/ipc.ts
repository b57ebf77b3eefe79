// The only module that talks to Rust. Components receive a `Backend` (see BackendContext) and never
// import @tauri-apps/api themselves, so UI tests can swap the transport for an in-memory fake.
import { invoke } from "@tauri-apps/api/core";
import type { AppState } from "../bindings/AppState";
import type { Audience } from "../bindings/Audience";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticEdit } from "../bindings/DiagnosticEdit";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { IpcError } from "../bindings/IpcError";
import type { NewPerson } from "../bindings/NewPerson";
import type { NewProfile } from "../bindings/NewProfile";
import type { Person } from "../bindings/Person";
import type { PersonField } from "../bindings/PersonField";
import type { PersonList } from "../bindings/PersonList";
import type { Profile } from "../bindings/Profile";
import type { Referentiel } from "../bindings/Referentiel";
import type { RomeMatch } from "../bindings/RomeMatch";

export type { IpcError, ErrorCode };

export interface Backend {
  appState(): Promise<AppState>;
  createProfile(input: NewProfile): Promise<Profile>;
  unlock(passphrase: string): Promise<Profile>;
  lock(): Promise<void>;
  setLockAfterMinutes(minutes: number): Promise<Profile>;
  searchPersons(query: string): Promise<PersonList>;
  createPerson(input: NewPerson): Promise<Person>;
  getPerson(id: string): Promise<Person>;
  updatePersonField(id: string, field: PersonField, value: string): Promise<Person>;
  referentiel(): Promise<Referentiel>;
  searchRome(query: string): Promise<RomeMatch[]>;
  listDiagnostics(personId: string): Promise<DiagnosticSummary[]>;
  /** A new draft for the person, filled by Rust (caseworker, every theme « not discussed »…). */
  startDiagnostic(personId: string): Promise<Diagnostic>;
  getDiagnostic(id: string): Promise<Diagnostic>;
  /** One autosave; answers the updated diagnostic with `suggestion` and `missing` recomputed. */
  editDiagnostic(id: string, edit: DiagnosticEdit): Promise<Diagnostic>;
  /** Refused with `not_ready` (the message lists what is missing) until everything is there. */
  finaliseDiagnostic(id: string): Promise<Diagnostic>;
  /** A new draft version of a finalised diagnostic. */
  amendDiagnostic(id: string): Promise<Diagnostic>;
  /** Sends a printed summary to the default printer; `print_failed` when the system cannot. */
  printDiagnostic(id: string, audience: Audience): Promise<void>;
  /** Asks where to save (the system's dialog), writes the PDF; the file name, or null if cancelled. */
  saveDiagnosticPdf(id: string, audience: Audience): Promise<string | null>;
}

const ERROR_CODES: readonly ErrorCode[] = [
  "validation",
  "not_found",
  "locked",
  "no_profile",
  "profile_exists",
  "wrong_passphrase",
  "keychain_unavailable",
  "wrapped_key_damaged",
  "cannot_decrypt",
  "damaged",
  "newer_schema",
  "finalised",
  "not_ready",
  "draft_exists",
  "print_failed",
  "internal",
];

export const FALLBACK_MESSAGE =
  "Une erreur inattendue est survenue. Réessayez\u202f; si elle revient, contactez le service informatique.";

/** Turns whatever a command rejected with into a typed IpcError. */
export function toIpcError(raw: unknown): IpcError {
  if (typeof raw === "object" && raw !== null) {
    const r = raw as Record<string, unknown>;
    const code = r.code;
    if (typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code)) {
      return {
        code: code as ErrorCode,
        message: typeof r.message === "string" && r.message.trim() !== "" ? r.message : FALLBACK_MESSAGE,
        field: typeof r.field === "string" ? r.field : null,
      };
    }
  }
  return { code: "internal", message: FALLBACK_MESSAGE, field: null };
}

export function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.code === "string" && typeof r.message === "string" && "field" in r;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toIpcError(raw);
  }
}

/** The real backend: Tauri commands over invoke. */
export const tauriBackend: Backend = {
  appState: () => call("app_state"),
  createProfile: (input) => call("create_profile", { input }),
  unlock: (passphrase) => call("unlock", { passphrase }),
  lock: async () => {
    await call<null>("lock");
  },
  setLockAfterMinutes: (minutes) => call("set_lock_after_minutes", { minutes }),
  searchPersons: (query) => call("search_persons", { query }),
  createPerson: (input) => call("create_person", { input }),
  getPerson: (id) => call("get_person", { id }),
  updatePersonField: (id, field, value) => call("update_person_field", { id, field, value }),
  referentiel: () => call("referentiel"),
  searchRome: (query) => call("search_rome", { query }),
  listDiagnostics: (personId) => call("list_diagnostics", { personId }),
  startDiagnostic: (personId) => call("start_diagnostic", { personId }),
  getDiagnostic: (id) => call("get_diagnostic", { id }),
  editDiagnostic: (id, edit) => call("edit_diagnostic", { id, edit }),
  finaliseDiagnostic: (id) => call("finalise_diagnostic", { id }),
  amendDiagnostic: (id) => call("amend_diagnostic", { id }),
  printDiagnostic: async (id, audience) => {
    await call<null>("print_diagnostic", { id, audience });
  },
  saveDiagnosticPdf: (id, audience) => call("save_diagnostic_pdf", { id, audience }),
};

/**
 * Wraps a backend so that any rejection with code `locked` also notifies `onLocked`
 * (the app then shows the unlock screen). The rejection still reaches the caller.
 */
export function withLockWatch(backend: Backend, onLocked: () => void): Backend {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(backend) as [string, (...a: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (raw) {
        const error = toIpcError(raw);
        if (error.code === "locked") onLocked();
        throw error;
      }
    };
  }
  return wrapped as unknown as Backend;
}
