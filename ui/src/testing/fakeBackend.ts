// In-memory stand-in for the Rust commands, for UI tests only (loaded by test.html, never by index.html).
// It answers the same command names and argument keys as src-tauri, with the same French messages.
import type { AppState } from "../bindings/AppState";
import type { IpcError } from "../bindings/IpcError";
import type { NewPerson } from "../bindings/NewPerson";
import type { NewProfile } from "../bindings/NewProfile";
import type { Person } from "../bindings/Person";
import type { PersonField } from "../bindings/PersonField";
import type { PersonList } from "../bindings/PersonList";
import type { PersonSummary } from "../bindings/PersonSummary";
import type { Profile } from "../bindings/Profile";
import type { RsaStatus } from "../bindings/RsaStatus";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import { createDiagnosticStore } from "./fakeDiagnostics";
import { createFollowUpStore, type FakeFollowUp, type FakeFollowUpSeed } from "./fakeFollowUp";
import { createFakeSync, type FakeSync, type FakeSyncSeed } from "./fakeSync";

export interface FakeSeed {
  state?: "first_run" | "locked" | "unlocked";
  profile?: Partial<Profile>;
  passphrase?: string;
  persons?: Partial<Person>[];
  /** Make `unlock` fail with this error code (keychain_unavailable, damaged…). */
  unlockFailure?: IpcError["code"];
  /** Delay of every answer, in milliseconds. */
  latencyMs?: number;
  /** When false, printing fails as on a laptop without a printer. */
  printerAvailable?: boolean;
  /** Enrolment, sync and conflicts (see fakeSync.ts). Default: not enrolled, online. */
  sync?: FakeSyncSeed;
  /** Follow-up files (by the person's last name). */
  followUp?: FakeFollowUpSeed;
}

export interface FakeBackend {
  handle(cmd: string, args: Record<string, unknown> | undefined): Promise<unknown>;
  persons: Map<string, Person>;
  diagnostics: Map<string, Diagnostic>;
  profile: Profile | null;
  state: "first_run" | "locked" | "unlocked";
  calls: { cmd: string; args: unknown }[];
  /** Test hooks for sync: go offline, drive progress, add conflicts, revoke the laptop. */
  sync: FakeSync;
  /** Follow-up files, review meetings and the status review's exports. */
  followUp: FakeFollowUp;
}

const NNBSP = "\u202f";
const MESSAGES = {
  required: "Ce champ est obligatoire.",
  future: "Cette date est dans le futur.",
  invalidDate: `Cette date n’est pas valide. Exemple${NNBSP}: 14/07/1985.`,
  tooOld: "Cette date est trop ancienne (avant 1900).",
  email: `Cette adresse e-mail n’est pas valide. Exemple${NNBSP}: prenom.nom@exemple.fr.`,
  phone: `Ce numéro de téléphone n’est pas valide. Exemple${NNBSP}: 06 12 34 56 78.`,
  postal: "Le code postal doit compter 5 chiffres.",
  passphraseShort: "La phrase de passe doit compter au moins 10 caractères.",
  wrongPassphrase: "La phrase de passe ne correspond pas.",
  lockDelay: "Le délai de verrouillage doit être compris entre 1 et 120 minutes.",
  locked: "Le dossier est verrouillé.",
  notFound: "Cette personne n’existe pas ou plus.",
  hasFinalised: "Cette personne a un diagnostic finalisé : sa fiche est conservée et ne peut pas être supprimée.",
  choice: "Ce choix n’est pas possible.",
};

const FAILURE_MESSAGES: Partial<Record<IpcError["code"], string>> = {
  keychain_unavailable: "Le trousseau du système ne répond pas.",
  cannot_decrypt: "Le dossier ne peut pas être déchiffré avec cette clé.",
  damaged: "Le dossier est endommagé.",
  newer_schema: "Ce dossier a été écrit par une version plus récente de Tandem. Mettez Tandem à jour.",
  wrapped_key_damaged: "La copie de secours de la clé est endommagée.",
};

function fail(code: IpcError["code"], message: string, field: string | null = null): never {
  const error: IpcError = { code, message, field };
  throw error;
}

export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

function today(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function parseDate(field: string, raw: string, allowFuture: boolean): string | null {
  const value = raw.trim();
  if (value === "") return null;
  let iso: string | null = null;
  const m1 = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const m2 = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value);
  if (m1) iso = value;
  else if (m2) iso = `${m2[3]}-${m2[2]}-${m2[1]}`;
  if (!iso || Number.isNaN(Date.parse(iso))) fail("validation", MESSAGES.invalidDate, field);
  if (iso < "1900-01-01") fail("validation", MESSAGES.tooOld, field);
  if (!allowFuture && iso > today()) fail("validation", MESSAGES.future, field);
  return iso;
}

function text(field: string, raw: string, required: boolean): string {
  const value = raw.trim();
  if (required && value === "") fail("validation", MESSAGES.required, field);
  return value;
}

function email(field: string, raw: string): string {
  const value = text(field, raw, false);
  if (value === "") return value;
  const at = value.split("@");
  const ok =
    at.length === 2 &&
    at[0] !== "" &&
    (at[1] ?? "").includes(".") &&
    !(at[1] ?? "").startsWith(".") &&
    !(at[1] ?? "").endsWith(".") &&
    !/\s/.test(value);
  if (!ok) fail("validation", MESSAGES.email, field);
  return value;
}

function flag(field: string, raw: string): boolean {
  if (raw === "true") return true;
  if (raw === "false" || raw === "") return false;
  return fail("validation", MESSAGES.choice, field);
}

let counter = 0;
function newId(): string {
  counter += 1;
  return `00000000-0000-7000-8000-${String(counter).padStart(12, "0")}`;
}

function blankPerson(partial: Partial<Person>): Person {
  const now = new Date().toISOString();
  return {
    id: newId(),
    first_name: "",
    last_name: "",
    birth_date: null,
    email: "",
    phone: "",
    address: "",
    postal_code: "",
    commune: "",
    commune_insee: "",
    caf_number: "",
    france_travail_id: "",
    rsa_status: "none",
    rsa_since: null,
    job_seeker: false,
    job_seeker_since: null,
    rqth: false,
    rqth_until: null,
    droits_devoirs: false,
    qpv: false,
    created_at: now,
    updated_at: now,
    ...partial,
  };
}

function summary(p: Person): PersonSummary {
  return {
    id: p.id,
    first_name: p.first_name,
    last_name: p.last_name,
    birth_date: p.birth_date,
    commune: p.commune,
    rsa_status: p.rsa_status,
    updated_at: p.updated_at,
  };
}

export function createFakeBackend(seed: FakeSeed = {}): FakeBackend {
  let passphrase = seed.passphrase ?? "correct horse battery";
  const defaultProfile: Profile = {
    id: "profile-1",
    caseworker_name: "Camille Durand",
    structure_name: "Mission locale de Villeurbanne",
    role: "employment",
    lock_after_minutes: 10,
  };
  // Its hooks only run once `fake` exists (the first command, or a test hook).
  const syncPart = createFakeSync(seed.sync ?? {}, {
    requireUnlocked,
    wipe: () => {
      fake.persons.clear();
      fake.diagnostics.clear();
      fake.followUp.files.clear();
      fake.followUp.meetings.clear();
      fake.profile = null;
      fake.state = "first_run";
    },
    personExists: (id) => fake.persons.has(id),
  });
  const fake: FakeBackend = {
    state: seed.state ?? "first_run",
    profile: seed.state && seed.state !== "first_run" ? { ...defaultProfile, ...seed.profile } : null,
    persons: new Map(),
    diagnostics: new Map(),
    calls: [],
    handle: async (cmd, args) => {
      fake.calls.push({ cmd, args });
      if (seed.latencyMs) await new Promise((r) => setTimeout(r, seed.latencyMs));
      syncPart.refuseIfRevoked(cmd);
      const answer = dispatch(cmd, args ?? {});
      syncPart.recorded(cmd, answer);
      return answer;
    },
    sync: syncPart.sync,
    followUp: undefined as unknown as FakeFollowUp,
  };
  for (const p of seed.persons ?? []) {
    const person = blankPerson(p);
    fake.persons.set(person.id, person);
  }

  function requireUnlocked(): Profile {
    if (fake.state === "first_run" || !fake.profile) fail("no_profile", "Aucun profil n’a encore été créé.");
    if (fake.state === "locked") fail("locked", MESSAGES.locked);
    return fake.profile;
  }

  const diagnosticStore = createDiagnosticStore({
    requireUnlocked,
    personExists: (id) => fake.persons.has(id),
    newId,
    printerAvailable: seed.printerAvailable,
  });
  fake.diagnostics = diagnosticStore.diagnostics;

  const followUpStore = createFollowUpStore(seed.followUp ?? {}, {
    requireUnlocked,
    persons: () => fake.persons,
    diagnostics: () => fake.diagnostics,
    listDiagnostics: (personId) => diagnosticStore.dispatch("list_diagnostics", { personId }) as DiagnosticSummary[],
    newId,
    today,
  });
  fake.followUp = followUpStore.followUp;

  function dispatch(cmd: string, args: Record<string, unknown>): unknown {
    switch (cmd) {
      case "app_state": {
        const s: AppState =
          fake.state === "unlocked" && fake.profile ? { state: "unlocked", profile: fake.profile } : { state: fake.state === "locked" ? "locked" : "first_run" };
        return s;
      }
      case "create_profile": {
        if (fake.state !== "first_run") fail("profile_exists", "Un profil existe déjà sur cet ordinateur.");
        const input = args.input as NewProfile;
        const caseworker_name = text("caseworker_name", input.caseworker_name, true);
        const structure_name = text("structure_name", input.structure_name, true);
        if (input.role !== "social" && input.role !== "employment") fail("validation", MESSAGES.choice, "role");
        if ([...input.passphrase].length < 10) fail("validation", MESSAGES.passphraseShort, "passphrase");
        passphrase = input.passphrase;
        fake.profile = { id: "profile-1", caseworker_name, structure_name, role: input.role, lock_after_minutes: 10 };
        fake.state = "unlocked";
        return fake.profile;
      }
      case "unlock": {
        if (!fake.profile) fail("no_profile", "Aucun profil n’a encore été créé.");
        if (seed.unlockFailure) fail(seed.unlockFailure, FAILURE_MESSAGES[seed.unlockFailure] ?? "Erreur.");
        if (args.passphrase !== passphrase) fail("wrong_passphrase", MESSAGES.wrongPassphrase, "passphrase");
        fake.state = "unlocked";
        return fake.profile;
      }
      case "lock":
        if (fake.profile) fake.state = "locked";
        return null;
      case "set_lock_after_minutes": {
        const profile = requireUnlocked();
        const minutes = args.minutes as number;
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 120) fail("validation", MESSAGES.lockDelay, "lock_after_minutes");
        fake.profile = { ...profile, lock_after_minutes: minutes };
        return fake.profile;
      }
      case "search_persons": {
        requireUnlocked();
        const terms = fold(String(args.query ?? "")).split(/\s+/).filter(Boolean);
        const matches = [...fake.persons.values()]
          .filter((p) => {
            const hay = fold(`${p.first_name} ${p.last_name}`);
            return terms.every((t) => hay.includes(t));
          })
          .sort((a, b) => fold(a.last_name).localeCompare(fold(b.last_name)) || fold(a.first_name).localeCompare(fold(b.first_name)));
        const list: PersonList = { items: matches.slice(0, 200).map(summary), total: matches.length };
        return list;
      }
      case "create_person": {
        requireUnlocked();
        const input = args.input as NewPerson;
        const first_name = text("first_name", input.first_name, true);
        const last_name = text("last_name", input.last_name, true);
        const birth_date = parseDate("birth_date", input.birth_date, false);
        const person = blankPerson({ first_name, last_name, birth_date });
        fake.persons.set(person.id, person);
        return person;
      }
      case "get_person": {
        requireUnlocked();
        const person = fake.persons.get(String(args.id));
        if (!person) fail("not_found", MESSAGES.notFound);
        return person;
      }
      case "delete_person": {
        requireUnlocked();
        const personId = String(args.id);
        if (!fake.persons.has(personId)) fail("not_found", MESSAGES.notFound);
        const diagnostics = [...fake.diagnostics.values()].filter((d) => d.person_id === personId);
        if (diagnostics.some((d) => d.status === "finalised")) fail("finalised", MESSAGES.hasFinalised);
        for (const d of diagnostics) fake.diagnostics.delete(d.id);
        fake.persons.delete(personId);
        return null;
      }
      case "update_person_field": {
        requireUnlocked();
        const person = fake.persons.get(String(args.id));
        if (!person) fail("not_found", MESSAGES.notFound);
        const field = args.field as PersonField;
        const raw = String(args.value ?? "");
        const next: Person = { ...person, updated_at: new Date().toISOString() };
        switch (field) {
          case "first_name":
          case "last_name":
            next[field] = text(field, raw, true);
            break;
          case "address":
          case "commune":
            next[field] = text(field, raw, false);
            break;
          case "email":
            next.email = email(field, raw);
            break;
          case "phone": {
            const v = text(field, raw, false);
            const digits = v.replace(/\D/g, "");
            if (v !== "" && (/[^\d .+-]/.test(v) || !(digits.length === 10 || v.startsWith("+")))) fail("validation", MESSAGES.phone, field);
            next.phone = v;
            break;
          }
          case "postal_code": {
            const v = raw.trim();
            if (v !== "" && !/^\d{5}$/.test(v)) fail("validation", MESSAGES.postal, field);
            next.postal_code = v;
            break;
          }
          case "commune_insee":
          case "caf_number":
          case "france_travail_id":
            next[field] = text(field, raw, false).toUpperCase();
            break;
          case "birth_date":
          case "rsa_since":
          case "job_seeker_since":
            next[field] = parseDate(field, raw, false);
            break;
          case "rqth_until":
            next.rqth_until = parseDate(field, raw, true);
            break;
          case "rsa_status":
            if (!["none", "open", "suspended", "closed"].includes(raw)) fail("validation", MESSAGES.choice, field);
            next.rsa_status = raw as RsaStatus;
            break;
          case "job_seeker":
          case "rqth":
          case "droits_devoirs":
          case "qpv":
            next[field] = flag(field, raw);
            break;
          default:
            fail("validation", MESSAGES.choice, String(field));
        }
        fake.persons.set(next.id, next);
        return next;
      }
      default: {
        const synced = syncPart.dispatch(cmd, args);
        if (synced) return synced.value;
        const followed = followUpStore.dispatch(cmd, args);
        return followed ? followed.value : diagnosticStore.dispatch(cmd, args);
      }
    }
  }

  return fake;
}
