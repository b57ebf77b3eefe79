// The only module that talks to Rust. Components receive a `Backend` (see BackendContext) and never
// import @tauri-apps/api themselves, so UI tests can swap the transport for an in-memory fake.
import { invoke } from "@tauri-apps/api/core";
import type { AppState } from "../bindings/AppState";
import type { Audience } from "../bindings/Audience";
import type { ConflictView } from "../bindings/ConflictView";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticEdit } from "../bindings/DiagnosticEdit";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { FollowUpEdit } from "../bindings/FollowUpEdit";
import type { FollowUpView } from "../bindings/FollowUpView";
import type { IpcError } from "../bindings/IpcError";
import type { MeetingEdit } from "../bindings/MeetingEdit";
import type { NewPerson } from "../bindings/NewPerson";
import type { NewProfile } from "../bindings/NewProfile";
import type { Person } from "../bindings/Person";
import type { PersonField } from "../bindings/PersonField";
import type { PersonList } from "../bindings/PersonList";
import type { Profile } from "../bindings/Profile";
import type { Referentiel } from "../bindings/Referentiel";
import type { ReviewExportFormat } from "../bindings/ReviewExportFormat";
import type { ReviewMeeting } from "../bindings/ReviewMeeting";
import type { ReviewScope } from "../bindings/ReviewScope";
import type { ReviewSettings } from "../bindings/ReviewSettings";
import type { RomeMatch } from "../bindings/RomeMatch";
import type { RefusedChangeView } from "../bindings/RefusedChangeView";
import type { ShareView } from "../bindings/ShareView";
import type { StatusReview } from "../bindings/StatusReview";
import type { StructureView } from "../bindings/StructureView";
import type { SyncStatus } from "../bindings/SyncStatus";

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
  /** Deletes a file created by mistake; `finalised` when the person has a finalised diagnostic. */
  deletePerson(id: string): Promise<void>;
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
  /** The sync indicator's state; cheap (no I/O), polled while the file is unlocked. */
  syncStatus(): Promise<SyncStatus>;
  /**
   * Enrols this laptop with a territory server using a one-time code, then starts a first sync.
   * Refused with `validation` (field `server_url`), `invalid_code`, `offline` or `upgrade_required`.
   */
  enrolDevice(serverUrl: string, code: string): Promise<SyncStatus>;
  /** Starts a sync in the background and answers at once. */
  syncNow(): Promise<SyncStatus>;
  listConflicts(): Promise<ConflictView[]>;
  /** Local edits the server refused, oldest first, each with its reason in French. */
  listRefusedChanges(): Promise<RefusedChangeView[]>;
  /** Keeps the value of the chosen option (`mutationId`) and closes the conflict. */
  resolveConflict(conflictId: string, mutationId: string): Promise<void>;
  /**
   * The territory's structures, asked of the server (network). Refused with `not_enrolled`,
   * `offline`, `sync_failed` or `device_revoked`.
   */
  listStructures(): Promise<StructureView[]>;
  /**
   * Records on the server that the person consents to share their file with this structure
   * (network). Refused with `offline`, `not_on_server` (the person has not reached the server yet:
   * the message says to synchronise first, and the form offers it), `sync_failed` or `not_enrolled`.
   */
  sharePerson(personId: string, structureId: string, shareSocialNotes: boolean): Promise<void>;
  /**
   * The other structures that currently see the person's file with their consent (network). Refused
   * with `offline`, `not_on_server` (the file has not reached the server yet), `not_enrolled` or
   * `sync_failed`.
   */
  listShares(personId: string): Promise<ShareView[]>;
  /**
   * Records that the person withdraws their consent for this structure; its laptops erase the file
   * at their next sync (network). Refused as `listShares`.
   */
  withdrawShare(personId: string, structureId: string): Promise<void>;
  // Follow-up (issue 6; contract: notes/followup-contract.md).
  /** The person's follow-up with its timeline (unfiltered), referents and work follow-ups; `not_found`. */
  getFollowUp(personId: string): Promise<FollowUpView>;
  /** One edit (ids chosen by the UI); the view after it. `validation` (with `field`) or `not_found`. */
  editFollowUp(personId: string, edit: FollowUpEdit): Promise<FollowUpView>;
  /** Carries the diagnostic's plan objectives and actions not yet in the file into it. */
  planToSteps(personId: string, diagnosticId: string): Promise<FollowUpView>;
  /** The « point de situation »; `validation` on the settings (`no_interview_weeks`, `status_change_days`). */
  statusReview(settings: ReviewSettings, scope: ReviewScope): Promise<StatusReview>;
  /** Asks where to save, writes the review; the file name, or null if the dialog was cancelled. */
  saveStatusReview(settings: ReviewSettings, scope: ReviewScope, format: ReviewExportFormat): Promise<string | null>;
  /** Review-group meetings, newest date first. */
  listMeetings(): Promise<ReviewMeeting[]>;
  /** A new meeting on that date (YYYY-MM-DD); its id is chosen in Rust. */
  createMeeting(date: string): Promise<ReviewMeeting>;
  /** A `decide` edit also records the decision on the person's follow-up file. */
  editMeeting(meetingId: string, edit: MeetingEdit): Promise<ReviewMeeting>;
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
  "not_enrolled",
  "offline",
  "invalid_code",
  "device_revoked",
  "upgrade_required",
  "sync_failed",
  "not_on_server",
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
  deletePerson: (id) => call("delete_person", { id }),
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
  syncStatus: () => call("sync_status"),
  enrolDevice: (serverUrl, code) => call("enrol_device", { serverUrl, code }),
  syncNow: () => call("sync_now"),
  listConflicts: () => call("list_conflicts"),
  listRefusedChanges: () => call("list_refused_changes"),
  resolveConflict: async (conflictId, mutationId) => {
    await call<null>("resolve_conflict", { conflictId, mutationId });
  },
  listStructures: () => call("list_structures"),
  sharePerson: async (personId, structureId, shareSocialNotes) => {
    await call<null>("share_person", { personId, structureId, shareSocialNotes });
  },
  listShares: (personId) => call("list_shares", { personId }),
  withdrawShare: async (personId, structureId) => {
    await call<null>("withdraw_share", { personId, structureId });
  },
  getFollowUp: (personId) => call("get_follow_up", { personId }),
  editFollowUp: (personId, edit) => call("edit_follow_up", { personId, edit }),
  planToSteps: (personId, diagnosticId) => call("plan_to_steps", { personId, diagnosticId }),
  statusReview: (settings, scope) => call("status_review", { settings, scope }),
  saveStatusReview: (settings, scope, format) => call("save_status_review", { settings, scope, format }),
  listMeetings: () => call("list_meetings"),
  createMeeting: (date) => call("create_meeting", { date }),
  editMeeting: (meetingId, edit) => call("edit_meeting", { meetingId, edit }),
};

export interface SessionWatch {
  /** The file was locked behind the UI's back (inactivity in Rust, another window…). */
  onLocked: () => void;
  /**
   * The territory withdrew this laptop: Rust has erased the local case file. Called once per
   * revocation, so that late refusals (an autosave in flight) do not repeat the message; a new
   * profile re-arms it.
   */
  onRevoked: (error: IpcError) => void;
}

/**
 * Wraps a backend so that any rejection with code `locked` or `device_revoked` also notifies the
 * app, which then changes screen. The rejection still reaches the caller.
 */
export function withSessionWatch(backend: Backend, watch: SessionWatch): Backend {
  const wrapped = {} as Record<string, unknown>;
  let revocationNotified = false;
  for (const [name, fn] of Object.entries(backend) as [string, (...a: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        const result = await fn(...args);
        if (name === "createProfile") revocationNotified = false;
        return result;
      } catch (raw) {
        const error = toIpcError(raw);
        if (error.code === "locked") watch.onLocked();
        else if (error.code === "device_revoked" && !revocationNotified) {
          revocationNotified = true;
          watch.onRevoked(error);
        }
        throw error;
      }
    };
  }
  return wrapped as unknown as Backend;
}
