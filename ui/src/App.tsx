import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Profile } from "./bindings/Profile";
import { RevokedDialog } from "./components/RevokedDialog";
import { SettingsDialog } from "./components/SettingsDialog";
import { SyncIndicator } from "./components/SyncIndicator";
import { BackendContext } from "./lib/backendContext";
import { fr } from "./lib/format";
import { type Backend, type IpcError, toIpcError, withSessionWatch } from "./lib/ipc";
import { flushPendingSaves } from "./lib/pendingSaves";
import { CASELOAD_HREF, MEETINGS_HREF, navigate, REVIEW_HREF, type Route, useDocumentTitle, useRoute } from "./lib/route";
import { useInactivity } from "./lib/useInactivity";
import { createSyncStore, SyncContext } from "./lib/syncStore";
import { Caseload } from "./screens/Caseload";
import { Conflicts } from "./screens/Conflicts";
import { RefusedChanges } from "./screens/RefusedChanges";
import { DiagnosticScreen } from "./screens/DiagnosticScreen";
import { FirstRun } from "./screens/FirstRun";
import { FollowUpScreen } from "./screens/FollowUpScreen";
import { Meetings } from "./screens/Meetings";
import { PersonForm } from "./screens/PersonForm";
import { StatusReviewScreen } from "./screens/StatusReviewScreen";
import { Unlock } from "./screens/Unlock";

type Phase =
  | { kind: "loading" }
  | { kind: "first_run" }
  | { kind: "locked"; afterInactivity: boolean }
  | { kind: "unlocked"; profile: Profile }
  | { kind: "fatal"; error: IpcError };

export function App({ backend: rawBackend }: { backend: Backend }) {
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [query, setQuery] = useState("");
  /** The French message of a revocation, shown once over the first-run screen. */
  const [revoked, setRevoked] = useState<string | null>(null);
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  const backend = useMemo(
    () =>
      withSessionWatch(rawBackend, {
        onLocked: () => {
          setSettingsOpen(false);
          setPhase((p) => (p.kind === "locked" || p.kind === "first_run" ? p : { kind: "locked", afterInactivity: false }));
        },
        onRevoked: (error) => {
          // Rust has already erased the case file: nothing left to save or to show.
          setSettingsOpen(false);
          setQuery("");
          setRevoked(error.message);
          setPhase({ kind: "first_run" });
          navigate(CASELOAD_HREF);
        },
      }),
    [rawBackend],
  );

  useEffect(() => {
    backend.appState().then(
      (s) => {
        if (s.state === "first_run") {
          setPhase({ kind: "first_run" });
          // Erased by a revocation before this window opened? The watch shows why.
          backend.syncStatus().catch(() => {});
        } else if (s.state === "locked") setPhase({ kind: "locked", afterInactivity: false });
        else setPhase({ kind: "unlocked", profile: s.profile });
      },
      (raw) => {
        const error = toIpcError(raw);
        if (error.code === "no_profile") setPhase({ kind: "first_run" });
        else if (error.code === "locked") setPhase({ kind: "locked", afterInactivity: false });
        else setPhase({ kind: "fatal", error });
      },
    );
  }, [backend]);

  const lock = useCallback(
    async (afterInactivity: boolean) => {
      setSettingsOpen(false);
      await flushPendingSaves();
      try {
        await backend.lock();
      } catch {
        // Show the unlock screen whatever happened: the UI must not stay open on a failed lock.
      }
      setPhase({ kind: "locked", afterInactivity });
    },
    [backend],
  );

  const unlocked = phase.kind === "unlocked";
  const onIdle = useCallback(() => void lock(true), [lock]);
  useInactivity(unlocked ? phase.profile.lock_after_minutes : 0, onIdle, unlocked);
  const syncStore = useMemo(() => createSyncStore(backend), [backend]);
  useEffect(() => (unlocked ? syncStore.start() : undefined), [syncStore, unlocked]);

  let screen;
  switch (phase.kind) {
    case "loading":
      screen = <Loading />;
      break;
    case "fatal":
      screen = <Fatal error={phase.error} />;
      break;
    case "first_run":
      screen = <FirstRun onCreated={(profile) => setPhase({ kind: "unlocked", profile })} />;
      break;
    case "locked":
      screen = (
        <Unlock afterInactivity={phase.afterInactivity} onUnlocked={(profile) => setPhase({ kind: "unlocked", profile })} />
      );
      break;
    case "unlocked":
      screen =
        route.name === "person" ? (
          <PersonForm key={route.id} id={route.id} />
        ) : route.name === "diagnostic" ? (
          <DiagnosticScreen key={route.id} id={route.id} step={route.step} />
        ) : route.name === "conflicts" ? (
          <Conflicts />
        ) : route.name === "refused" ? (
          <RefusedChanges />
        ) : route.name === "followup" ? (
          <FollowUpScreen key={route.id} personId={route.id} />
        ) : route.name === "review" ? (
          <StatusReviewScreen />
        ) : route.name === "meetings" ? (
          <Meetings key={route.id ?? ""} meetingId={route.id} />
        ) : (
          <Caseload query={query} onQueryChange={setQuery} />
        );
      break;
  }

  return (
    <BackendContext value={backend}>
      <SyncContext value={syncStore}>
        <a
          href="#contenu"
          className="skip-link"
          onClick={(e) => {
            // Hash routes: focus the content without touching the location.
            e.preventDefault();
            main.current?.focus();
          }}
        >
          Aller au contenu
        </a>
        <header className="banner">
          <div className="banner__inner">
            <p className="brand">
              <span className="brand__mark" aria-hidden="true" />
              Tandem
            </p>
            {phase.kind === "unlocked" ? (
              <>
                <p className="who" data-testid="caseworker">
                  <span className="who__name">{phase.profile.caseworker_name}</span>
                  <span className="who__structure">{phase.profile.structure_name}</span>
                </p>
                <div className="banner__actions">
                  <button type="button" className="button button--quiet" onClick={() => setSettingsOpen(true)} data-testid="open-settings">
                    Paramètres
                  </button>
                  <button type="button" className="button" onClick={() => void lock(false)} data-testid="lock">
                    Verrouiller
                  </button>
                </div>
                <SettingsDialog
                  isOpen={settingsOpen}
                  onOpenChange={setSettingsOpen}
                  profile={phase.profile}
                  onSaved={(profile) => {
                    setPhase({ kind: "unlocked", profile });
                    setSettingsOpen(false);
                  }}
                />
                <MainNav route={route} />
              </>
            ) : null}
          </div>
        </header>
        {phase.kind === "unlocked" ? <SyncIndicator /> : null}
        <RevokedDialog message={revoked} onClose={() => setRevoked(null)} />
        <main id="contenu" ref={main} tabIndex={-1}>
          {screen}
        </main>
      </SyncContext>
    </BackendContext>
  );
}

/** The three places a caseworker works from; the current one is marked for screen readers too. */
function MainNav({ route }: { route: Route }) {
  const section = route.name === "review" ? "review" : route.name === "meetings" ? "meetings" : "persons";
  const links = [
    ["persons", CASELOAD_HREF, "Personnes"],
    ["review", REVIEW_HREF, "Point de situation"],
    ["meetings", MEETINGS_HREF, "Groupes de suivi"],
  ] as const;
  return (
    <nav aria-label="Navigation principale" className="mainnav">
      <ul>
        {links.map(([key, href, label]) => (
          <li key={key}>
            <a href={href} aria-current={section === key ? "page" : undefined} data-testid={`nav-${key}`}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Loading() {
  useDocumentTitle("");
  return (
    <div className="narrow">
      <h1>Tandem</h1>
      <p role="status">Ouverture du dossier…</p>
    </div>
  );
}

function Fatal({ error }: { error: IpcError }) {
  useDocumentTitle("Dossier indisponible");
  return (
    <div className="narrow">
      <h1>Tandem ne peut pas ouvrir le dossier</h1>
      <div role="alert" className="alert alert--error" data-testid="fatal-error">
        {error.code === "keychain_unavailable" ? (
          <p>{fr("Le trousseau du système n’est pas disponible : Tandem ne peut pas ouvrir le dossier sans lui.")}</p>
        ) : null}
        <p>{fr(error.message)}</p>
      </div>
      <p>Contactez le service informatique de votre territoire en indiquant ce message.</p>
    </div>
  );
}
