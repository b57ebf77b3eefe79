// The sync half of the fake backend: enrolment, a simulated background sync with progress, open
// conflicts and revocation, with hooks a test drives from the page (window.__tandemFake.sync).
import type { ConflictView } from "../bindings/ConflictView";
import type { RefusedChangeView } from "../bindings/RefusedChangeView";
import type { IpcError } from "../bindings/IpcError";
import type { ShareView } from "../bindings/ShareView";
import type { StructureView } from "../bindings/StructureView";
import type { SyncState } from "../bindings/SyncState";
import type { SyncStatus } from "../bindings/SyncStatus";

const NNBSP = "\u202f";

export const SYNC_MESSAGES = {
  required: "Ce champ est obligatoire.",
  badUrl: `Cette adresse n’est pas valide. Exemple${NNBSP}: https://tandem.mon-territoire.fr.`,
  invalidCode: `Ce code n’est pas reconnu${NNBSP}: il a peut-être été mal recopié, a déjà servi ou a expiré. Demandez un nouveau code à l’administrateur du territoire.`,
  offline: "Le serveur du territoire ne répond pas. Vérifiez l’adresse et la connexion, puis réessayez.",
  offlineStatus: "Le serveur du territoire ne répond pas. Tandem réessaiera dès que la connexion reviendra.",
  upgrade: "Ce serveur demande une version plus récente de Tandem. Demandez la mise à jour au service informatique de votre territoire.",
  notEnrolled: "Cet ordinateur n’est relié à aucun serveur. Reliez-le dans les paramètres.",
  alreadyEnrolled: "Cet ordinateur est déjà relié à un serveur.",
  revoked:
    "L’administrateur du territoire a retiré cet ordinateur. Le dossier qu’il contenait a été effacé. Pour continuer à utiliser Tandem, adressez-vous au service informatique de votre territoire.",
  conflictGone: "Ce conflit a déjà été résolu.",
  notAnOption: "Cette valeur ne fait pas partie du conflit.",
  personNotFound: "Cette personne n’existe pas ou plus.",
  personNotSent:
    "Le dossier de cette personne n’est pas encore arrivé sur le serveur du territoire. Synchronisez, puis partagez-le de nouveau.",
  unknownStructure: "Le serveur du territoire ne connaît pas cette structure. Rouvrez la liste des structures, puis réessayez.",
  ownStructure: "Le dossier est déjà visible par votre structure.",
  personNotSentShares:
    "Le dossier de cette personne n’est pas encore arrivé sur le serveur du territoire : aucune autre structure n’y a accès. Synchronisez pour l’envoyer.",
};

/** The code an administrator « issued » to the fake server. */
export const FAKE_ENROLMENT_CODE = "ABCD-EFGH-JKLM-NPQR";

export interface FakeSyncSeed {
  /** Already enrolled with this server (true: a default one). */
  enrolled?: boolean | { server_url: string; structure_name: string };
  online?: boolean;
  pendingChanges?: number;
  /** How many local edits the server refused (ready-made ones over Hélène Lefèvre). */
  refusedChanges?: number;
  lastSyncedAt?: string | null;
  /** Open conflicts at start; "demo" for a ready-made set over Hélène Lefèvre and Jérôme Martin. */
  conflicts?: ConflictView[] | "demo";
  /** Conflicts the next successful sync brings in. */
  incomingConflicts?: ConflictView[] | "demo";
  /** When true, a started sync waits for the test's `advance`/`finish` instead of its own timer. */
  manual?: boolean;
  /** Auto mode: time between two progress steps. */
  stepMs?: number;
  /** The structure a successful enrolment names. */
  structureName?: string;
  /** The laptop was revoked and erased before the window opened (use with state "first_run"). */
  revoked?: boolean;
  /** The territory's structures the server lists (default: five, the enrolled one among them). */
  structures?: StructureView[];
}

/** A consent the fake server recorded. */
export interface FakeShare {
  personId: string;
  structureId: string;
  shareSocialNotes: boolean;
}

/** Test hooks, reachable from the page as window.__tandemFake.sync. */
export interface FakeSync {
  status(): SyncStatus;
  conflicts: ConflictView[];
  setOnline(online: boolean): void;
  /** Enrolment and syncs answer `upgrade_required`. */
  requireUpgrade(required: boolean): void;
  /** Starts a sync as the background worker would. */
  start(): void;
  /** Manual mode: the running sync reports this progress (null: not known yet). */
  advance(progress: number | null): void;
  /** Ends the running sync: up to date, or offline when the server is unreachable. */
  finish(): void;
  /** The running or next sync fails with this French message. */
  fail(message: string): void;
  addConflicts(conflicts: ConflictView[] | "demo"): void;
  /** The server withdrew this laptop: the worker erases the case file at once. */
  revoke(): void;
  revoked: boolean;
  /** What `list_structures` answers. */
  structures: StructureView[];
  /** Consents recorded by `share_person`, oldest first; `withdraw_share` removes one. */
  shares: FakeShare[];
  /** Persons created on this laptop that no sync has sent yet (`share_person` answers `not_on_server`). */
  unsentPersons: Set<string>;
}

interface Host {
  requireUnlocked(): unknown;
  /** Erases the local case file (persons, diagnostics, profile). */
  wipe(): void;
  personExists(id: string): boolean;
}

function fail(code: IpcError["code"], message: string, field: string | null = null): never {
  const error: IpcError = { code, message, field };
  throw error;
}

/** `n` refused edits of Hélène Lefèvre's file, oldest first. */
export function demoRefused(n: number): RefusedChangeView[] {
  const reasons = [
    "Votre structure n’a pas (ou plus) accès à ce dossier sur le serveur du territoire : la personne n’a pas donné son accord au partage avec elle.",
    "Ce diagnostic a été finalisé sur un autre ordinateur : il ne change plus. Pour le corriger, créez-en une nouvelle version.",
  ];
  return Array.from({ length: n }, (_, i) => ({
    mutation_id: `refused-${i + 1}`,
    person_id: "person-helene",
    person_name: "Hélène Lefèvre",
    record: i % 2 === 0 ? "Fiche de la personne" : "Diagnostic du 12/03/2026",
    field_label: i % 2 === 0 ? "Téléphone" : "Diagnostic : note",
    value: i % 2 === 0 ? `06 12 34 56 ${String(10 + i).padStart(2, "0")}` : "Rendez-vous pris avec la mission locale.",
    at: `2026-11-2${i % 10}T09:${String(10 + i).padStart(2, "0")}:00Z`,
    reason: reasons[i % 2] ?? "",
  }));
}

export function demoConflicts(): ConflictView[] {
  return [
    {
      id: "conflict-helene-phone",
      person_id: "person-helene",
      person_name: "Hélène Lefèvre",
      record: "Fiche de la personne",
      field_label: "Téléphone",
      options: [
        {
          mutation_id: "0193a1b2-0000-7000-8000-000000000001",
          value: "06 12 34 56 78",
          author: "Mission locale de Villeurbanne · Camille Durand",
          at: "2026-11-26T13:05:00Z",
          shown: true,
        },
        {
          mutation_id: "0193a1b2-0000-7000-8000-000000000002",
          value: "07 98 76 54 32",
          author: "Département du Rhône · Sophie Bernard",
          at: "2026-11-26T13:02:00Z",
          shown: false,
        },
      ],
    },
    {
      id: "conflict-helene-orientation",
      person_id: "person-helene",
      person_name: "Hélène Lefèvre",
      record: "Diagnostic du 12 mars 2026",
      field_label: "Orientation proposée",
      options: [
        {
          mutation_id: "0193a1b2-0000-7000-8000-000000000003",
          value: "Socioprofessionnelle",
          author: "Département du Rhône · Sophie Bernard",
          at: "2026-03-12T15:40:00Z",
          shown: false,
        },
        {
          mutation_id: "0193a1b2-0000-7000-8000-000000000004",
          value: "Professionnelle",
          author: "Mission locale Est · Hélène Martin",
          at: "2026-03-12T15:41:00Z",
          shown: true,
        },
      ],
    },
    {
      id: "conflict-jerome-commune",
      person_id: "person-jerome",
      person_name: "Jérôme Martin",
      record: "Fiche de la personne",
      field_label: "Commune",
      options: [
        {
          mutation_id: "0193a1b2-0000-7000-8000-000000000005",
          value: "Vaulx-en-Velin",
          author: "Mission locale de Villeurbanne · Camille Durand",
          at: "2026-11-20T08:15:00Z",
          shown: true,
        },
        {
          mutation_id: "0193a1b2-0000-7000-8000-000000000006",
          value: "Villeurbanne",
          author: "CCAS de Villeurbanne · Karim Benali",
          at: "2026-11-20T08:10:00Z",
          shown: false,
        },
      ],
    },
  ];
}

export function demoStructures(): StructureView[] {
  return [
    { id: "structure-ml-villeurbanne", name: "Mission locale de Villeurbanne", kind: "mission_locale", kind_label: "Mission locale" },
    { id: "structure-departement-rhone", name: "Département du Rhône", kind: "departement", kind_label: "Conseil départemental" },
    { id: "structure-ccas-villeurbanne", name: "CCAS de Villeurbanne", kind: "ccas", kind_label: "CCAS / CIAS" },
    { id: "structure-passerelle", name: "Association Passerelle", kind: "association", kind_label: "Association" },
    { id: "structure-ml-est", name: "Mission locale Est", kind: "mission_locale", kind_label: "Mission locale" },
  ];
}

const DEFAULT_SERVER = { server_url: "https://tandem.grand-lyon.example", structure_name: "Mission locale de Villeurbanne" };

/** Upper case, no spaces or dashes, then groups of four: « abcd efgh-jklmnpqr » → ABCD-EFGH-JKLM-NPQR. */
function canonicalCode(raw: string): string {
  const compact = raw.toUpperCase().replace(/[\s-]/g, "");
  return compact.replace(/(.{4})(?=.)/g, "$1-");
}

function serverUrl(raw: string): string {
  const value = raw.trim();
  if (value === "") fail("validation", SYNC_MESSAGES.required, "server_url");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail("validation", SYNC_MESSAGES.badUrl, "server_url");
  }
  const local = url.hostname === "localhost" || url.hostname === "127.0.0.1";
  if (!(url.protocol === "https:" || (local && url.protocol === "http:")) || url.username || url.password) {
    fail("validation", SYNC_MESSAGES.badUrl, "server_url");
  }
  return value.replace(/\/+$/, "");
}

const MUTATIONS = new Set([
  "create_person",
  "update_person_field",
  "start_diagnostic",
  "edit_diagnostic",
  "finalise_diagnostic",
  "amend_diagnostic",
]);

export function createFakeSync(seed: FakeSyncSeed, host: Host) {
  let server: { server_url: string; structure_name: string } | null =
    seed.enrolled === true ? DEFAULT_SERVER : seed.enrolled ? seed.enrolled : null;
  let online = seed.online ?? true;
  let upgradeRequired = false;
  let pending = seed.pendingChanges ?? 0;
  const refusedList = demoRefused(seed.refusedChanges ?? 0);
  const refused = refusedList.length;
  let lastSyncedAt = seed.lastSyncedAt ?? (server ? "2026-11-26T13:05:00Z" : null);
  let state: SyncState = server ? (online ? "up_to_date" : "offline") : "not_enrolled";
  let progress: number | null = null;
  let message: string | null = server && !online ? SYNC_MESSAGES.offlineStatus : null;
  let failure: string | null = null;
  let incoming: ConflictView[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stepMs = seed.stepMs ?? 300;

  const resolve = (c: ConflictView[] | "demo" | undefined) => (c === "demo" ? demoConflicts() : (c ?? []));
  incoming = resolve(seed.incomingConflicts);

  function status(): SyncStatus {
    return {
      state,
      server_url: server?.server_url ?? null,
      structure_name: server?.structure_name ?? null,
      progress: state === "syncing" ? progress : null,
      pending_changes: pending,
      refused_changes: refused,
      conflicts: sync.conflicts.length,
      last_synced_at: lastSyncedAt,
      message: state === "offline" || state === "error" ? message : null,
    };
  }

  function finish() {
    clearTimeout(timer);
    if (state !== "syncing") return;
    progress = null;
    if (failure) {
      state = "error";
      message = failure;
      failure = null;
    } else if (upgradeRequired) {
      state = "error";
      message = SYNC_MESSAGES.upgrade;
    } else if (!online) {
      state = "offline";
      message = SYNC_MESSAGES.offlineStatus;
    } else {
      state = "up_to_date";
      message = null;
      pending = 0;
      lastSyncedAt = new Date().toISOString();
      sync.conflicts.push(...incoming);
      incoming = [];
      sync.unsentPersons.clear();
    }
  }

  function start() {
    if (!server || state === "syncing") return;
    state = "syncing";
    progress = null;
    message = null;
    if (seed.manual) return;
    // Auto mode: connecting, then three known steps, then done (or offline at the first step).
    const steps: (number | null)[] = online && !upgradeRequired && !failure ? [0.25, 0.6, 0.9] : [];
    const next = () => {
      const p = steps.shift();
      if (p === undefined) finish();
      else {
        progress = p;
        timer = setTimeout(next, stepMs);
      }
    };
    timer = setTimeout(next, stepMs);
  }

  const sync: FakeSync = {
    status,
    conflicts: resolve(seed.conflicts),
    revoked: seed.revoked ?? false,
    structures: seed.structures ?? demoStructures(),
    shares: [],
    unsentPersons: new Set(),
    setOnline(value) {
      online = value;
      if (!server || state === "syncing") return;
      if (!value) {
        state = "offline";
        message = SYNC_MESSAGES.offlineStatus;
      } else if (state === "offline") {
        start();
      }
    },
    requireUpgrade(required) {
      upgradeRequired = required;
    },
    start,
    advance(p) {
      if (state === "syncing") progress = p;
    },
    finish,
    fail(text) {
      failure = text;
      if (state === "syncing") finish();
    },
    addConflicts(c) {
      sync.conflicts.push(...resolve(c));
    },
    revoke() {
      clearTimeout(timer);
      host.wipe();
      sync.revoked = true;
      sync.conflicts = [];
      sync.shares = [];
      sync.unsentPersons.clear();
      server = null;
      state = "not_enrolled";
      pending = 0;
      lastSyncedAt = null;
    },
  };

  /** A network command: refused when not enrolled, offline, or the server wants a newer Tandem. */
  function reachServer() {
    if (!server) fail("not_enrolled", SYNC_MESSAGES.notEnrolled);
    if (!online) fail("offline", SYNC_MESSAGES.offline);
    if (upgradeRequired) fail("sync_failed", SYNC_MESSAGES.upgrade);
  }

  /** The person whose consents `list_shares`/`withdraw_share` read: known here and on the server. */
  function consentedFile(args: Record<string, unknown>): string {
    host.requireUnlocked();
    const personId = String(args.personId ?? "");
    if (!host.personExists(personId)) fail("not_found", SYNC_MESSAGES.personNotFound);
    reachServer();
    if (sync.unsentPersons.has(personId)) fail("not_on_server", SYNC_MESSAGES.personNotSentShares);
    return personId;
  }

  /** Answers a sync command, or `undefined` when `cmd` is not one. */
  function dispatch(cmd: string, args: Record<string, unknown>): { value: unknown } | undefined {
    switch (cmd) {
      case "sync_status":
        host.requireUnlocked();
        return { value: status() };
      case "enrol_device": {
        host.requireUnlocked();
        if (server) fail("validation", SYNC_MESSAGES.alreadyEnrolled);
        const url = serverUrl(String(args.serverUrl ?? ""));
        const code = canonicalCode(String(args.code ?? ""));
        if (code === "") fail("validation", SYNC_MESSAGES.required, "code");
        if (!online) fail("offline", SYNC_MESSAGES.offline);
        if (upgradeRequired) fail("upgrade_required", SYNC_MESSAGES.upgrade);
        if (code !== FAKE_ENROLMENT_CODE) fail("invalid_code", SYNC_MESSAGES.invalidCode, "code");
        server = { server_url: url, structure_name: seed.structureName ?? DEFAULT_SERVER.structure_name };
        state = "up_to_date";
        start();
        return { value: status() };
      }
      case "sync_now":
        host.requireUnlocked();
        if (!server) fail("not_enrolled", SYNC_MESSAGES.notEnrolled);
        start();
        return { value: status() };
      case "list_conflicts":
        host.requireUnlocked();
        return { value: structuredClone(sync.conflicts) };
      case "list_refused_changes":
        host.requireUnlocked();
        return { value: structuredClone(refusedList) };
      case "resolve_conflict": {
        host.requireUnlocked();
        const conflict = sync.conflicts.find((c) => c.id === args.conflictId);
        if (!conflict) fail("not_found", SYNC_MESSAGES.conflictGone);
        if (!conflict.options.some((o) => o.mutation_id === args.mutationId)) fail("validation", SYNC_MESSAGES.notAnOption);
        sync.conflicts = sync.conflicts.filter((c) => c !== conflict);
        // The choice is itself a change the other laptops must receive.
        pending += 1;
        return { value: null };
      }
      case "list_structures":
        host.requireUnlocked();
        reachServer();
        return { value: structuredClone(sync.structures) };
      case "share_person": {
        host.requireUnlocked();
        const personId = String(args.personId ?? "");
        const structureId = String(args.structureId ?? "");
        if (!host.personExists(personId)) fail("not_found", SYNC_MESSAGES.personNotFound);
        reachServer();
        if (sync.unsentPersons.has(personId)) fail("not_on_server", SYNC_MESSAGES.personNotSent);
        const structure = sync.structures.find((s) => s.id === structureId);
        if (!structure) fail("sync_failed", SYNC_MESSAGES.unknownStructure);
        if (structure.name === server?.structure_name) fail("sync_failed", SYNC_MESSAGES.ownStructure);
        const shareSocialNotes = args.shareSocialNotes === true;
        // The server keeps one consent per person and structure; sharing again updates it.
        sync.shares = sync.shares.filter((s) => !(s.personId === personId && s.structureId === structureId));
        sync.shares.push({ personId, structureId, shareSocialNotes });
        return { value: null };
      }
      case "list_shares": {
        const personId = consentedFile(args);
        const shares = sync.shares
          .filter((s) => s.personId === personId)
          .map(
            (s): ShareView => ({
              structure_id: s.structureId,
              structure_name: sync.structures.find((st) => st.id === s.structureId)?.name ?? s.structureId,
              share_social_notes: s.shareSocialNotes,
            }),
          );
        return { value: shares };
      }
      case "withdraw_share": {
        const personId = consentedFile(args);
        const structureId = String(args.structureId ?? "");
        // Withdrawing a consent the server no longer holds leaves it as wanted: nothing to refuse.
        sync.shares = sync.shares.filter((s) => !(s.personId === personId && s.structureId === structureId));
        return { value: null };
      }
      default:
        return undefined;
    }
  }

  /** After a command succeeded: counts a local edit in the outbox; a new profile ends a revocation. */
  function recorded(cmd: string, answer: unknown) {
    if (MUTATIONS.has(cmd)) pending += 1;
    if (cmd === "create_person") sync.unsentPersons.add((answer as { id: string }).id);
    if (cmd === "create_profile") sync.revoked = false;
  }

  /** After a revocation every command but these two is refused until a new profile exists. */
  function refuseIfRevoked(cmd: string) {
    if (sync.revoked && cmd !== "app_state" && cmd !== "create_profile") fail("device_revoked", SYNC_MESSAGES.revoked);
  }

  return { sync, dispatch, recorded, refuseIfRevoked };
}
