import { useEffect, useState } from "react";

// Hash routes: the list rows are real links, and the Tauri window needs no server-side routing.
export type Route =
  | { name: "caseload" }
  | { name: "person"; id: string }
  | { name: "diagnostic"; id: string; step: string | null }
  | { name: "conflicts" }
  | { name: "refused" }
  | { name: "followup"; id: string }
  | { name: "review" }
  | { name: "meetings"; id: string | null };

export function parseRoute(hash: string): Route {
  if (hash === CONFLICTS_HREF) return { name: "conflicts" };
  if (hash === REFUSED_HREF) return { name: "refused" };
  if (hash === REVIEW_HREF) return { name: "review" };
  if (hash === MEETINGS_HREF) return { name: "meetings", id: null };
  const g = /^#\/groupes-de-suivi\/([^/?#]+)$/.exec(hash);
  if (g?.[1]) return { name: "meetings", id: decodeURIComponent(g[1]) };
  const f = /^#\/personne\/([^/?#]+)\/suivi$/.exec(hash);
  if (f?.[1]) return { name: "followup", id: decodeURIComponent(f[1]) };
  const m = /^#\/personne\/([^/?#]+)$/.exec(hash);
  if (m?.[1]) return { name: "person", id: decodeURIComponent(m[1]) };
  const d = /^#\/diagnostic\/([^/?#]+)(?:\/([^/?#]+))?$/.exec(hash);
  if (d?.[1]) return { name: "diagnostic", id: decodeURIComponent(d[1]), step: d[2] ? decodeURIComponent(d[2]) : null };
  return { name: "caseload" };
}

/** The interview screen of one diagnostic, at one step (the first when `step` is omitted). */
export function diagnosticHref(id: string, step?: string): string {
  return `#/diagnostic/${encodeURIComponent(id)}${step ? `/${encodeURIComponent(step)}` : ""}`;
}

export function personHref(id: string): string {
  return `#/personne/${encodeURIComponent(id)}`;
}

/** A person's follow-up: timeline, pathway, contracts, changes of situation. */
export function followUpHref(personId: string): string {
  return `${personHref(personId)}/suivi`;
}

/** One review-group meeting. */
export function meetingHref(id: string): string {
  return `${MEETINGS_HREF}/${encodeURIComponent(id)}`;
}

export const CASELOAD_HREF = "#/";

/** The status review (« point de situation »), from the main navigation. */
export const REVIEW_HREF = "#/point-de-situation";

/** Review groups (« groupes de suivi »), from the main navigation. */
export const MEETINGS_HREF = "#/groupes-de-suivi";

/** The open sync conflicts, reached from the sync bar. */
export const CONFLICTS_HREF = "#/conflits";

/** The local edits the server refused, reached from the sync bar. */
export const REFUSED_HREF = "#/refus";

export function navigate(href: string): void {
  window.location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** Sets the window title for the current screen. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} — Tandem` : "Tandem";
  }, [title]);
}
