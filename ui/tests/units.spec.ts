// Pure helpers, without a browser: IPC error typing and French formatting.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ageFromIso, countPersons, fr, frenchDate } from "../src/lib/format.ts";
import { type Backend, FALLBACK_MESSAGE, toIpcError, withSessionWatch } from "../src/lib/ipc.ts";
import { frenchDateTime, frenchDay } from "../src/lib/diagnosticLabels.ts";
import { diagnosticHref, followUpHref, meetingHref, parseRoute } from "../src/lib/route.ts";
import { agendaReason, cafReasonsFor, flagLabel, workFollowUpLabel } from "../src/lib/followupLabels.ts";
import { addMonths } from "../src/testing/fakeFollowUp.ts";
import type { ReviewRow } from "../src/bindings/ReviewRow.ts";
import { fold } from "../src/testing/fakeBackend.ts";
import { normaliseEnrolmentCode } from "../src/lib/enrolmentCode.ts";
import { conflictsLabel, lastSyncLabel, pendingLabel, syncAnnouncement } from "../src/lib/syncLabels.ts";
import type { SyncStatus } from "../src/bindings/SyncStatus.ts";

describe("ipc.toIpcError", () => {
  it("keeps a well-formed IpcError", () => {
    const e = { code: "validation", message: "Ce champ est obligatoire.", field: "first_name" };
    assert.deepEqual(toIpcError(e), e);
  });
  it("turns anything else into an internal error with a French message", () => {
    for (const raw of ["boom", null, undefined, 42, new Error("x"), { code: "nope", message: "m" }]) {
      assert.deepEqual(toIpcError(raw), { code: "internal", message: FALLBACK_MESSAGE, field: null });
    }
  });
  it("fills a missing message and field", () => {
    assert.deepEqual(toIpcError({ code: "locked" }), { code: "locked", message: FALLBACK_MESSAGE, field: null });
  });
});

describe("ipc.withSessionWatch", () => {
  it("notifies a lock each time, a revocation once until a new profile exists", async () => {
    const revoked = { code: "device_revoked", message: "Retiré.", field: null };
    let answer: unknown = revoked;
    const raw = {
      syncStatus: () => Promise.reject(answer),
      searchPersons: () => Promise.reject({ code: "locked", message: "Verrouillé.", field: null }),
      createProfile: () => Promise.resolve({ id: "p" }),
    } as unknown as Backend;
    const seen: string[] = [];
    const backend = withSessionWatch(raw, { onLocked: () => seen.push("locked"), onRevoked: (e) => seen.push(`revoked: ${e.message}`) });
    await assert.rejects(backend.syncStatus(), { code: "device_revoked" });
    await assert.rejects(backend.syncStatus(), { code: "device_revoked" });
    await assert.rejects(backend.searchPersons(""), { code: "locked" });
    await assert.rejects(backend.searchPersons(""), { code: "locked" });
    assert.deepEqual(seen, ["revoked: Retiré.", "locked", "locked"]);
    await backend.createProfile({} as never);
    answer = { ...revoked, message: "Retiré encore." };
    await assert.rejects(backend.syncStatus(), { code: "device_revoked" });
    assert.deepEqual(seen.at(-1), "revoked: Retiré encore.");
  });
});

describe("format", () => {
  it("writes dates the French way", () => {
    assert.equal(frenchDate("1985-07-14"), "14 juillet 1985");
    assert.equal(frenchDate("2026-11-01"), "1er novembre 2026");
    assert.equal(frenchDate(null), "");
  });
  it("computes ages on the birthday boundary", () => {
    assert.equal(ageFromIso("2000-06-15", new Date(2026, 5, 14)), 25);
    assert.equal(ageFromIso("2000-06-15", new Date(2026, 5, 15)), 26);
  });
  it("puts narrow no-break spaces before high punctuation and inside guillemets", () => {
    assert.equal(fr("Exemple : « zzz » ?"), "Exemple\u202f: «\u202fzzz\u202f»\u202f?");
    assert.equal(fr("déjà\u202f: fait"), "déjà\u202f: fait");
  });
  it("counts persons", () => {
    assert.equal(countPersons(0), "Aucune personne");
    assert.equal(countPersons(1), "1 personne");
    assert.equal(countPersons(1450), "1\u202f450 personnes");
  });
  it("the fake backend folds accents and case like Rust", () => {
    assert.equal(fold("Hélène LEFÈVRE"), "helene lefevre");
  });
});

describe("route", () => {
  it("reads and writes diagnostic routes, with or without a step", () => {
    assert.deepEqual(parseRoute(diagnosticHref("abc-1")), { name: "diagnostic", id: "abc-1", step: null });
    assert.deepEqual(parseRoute(diagnosticHref("abc-1", "logement")), { name: "diagnostic", id: "abc-1", step: "logement" });
    assert.deepEqual(parseRoute("#/personne/p1"), { name: "person", id: "p1" });
    assert.deepEqual(parseRoute("#/diagnostic/"), { name: "caseload" });
  });
});

describe("diagnostic dates", () => {
  it("writes an instant as a French day and time in the local time zone", () => {
    const instant = new Date(2026, 10, 26, 14, 5).toISOString();
    assert.equal(frenchDay(instant), "26 novembre 2026");
    assert.equal(frenchDateTime(instant), "26 novembre 2026 à 14\u00a0h\u00a005");
    assert.equal(frenchDay(null), "");
  });
});

describe("sync wording", () => {
  const now = new Date(2026, 10, 26, 16, 0);
  it("says when the last sync happened, in the laptop's time zone", () => {
    assert.equal(lastSyncLabel(new Date(2026, 10, 26, 14, 5).toISOString(), now), "dernière synchronisation à 14\u00a0h\u00a005");
    assert.equal(lastSyncLabel(new Date(2026, 10, 1, 9, 30).toISOString(), now), "dernière synchronisation le 1er novembre à 9\u00a0h\u00a030");
    assert.equal(lastSyncLabel(new Date(2025, 11, 31, 18, 0).toISOString(), now), "dernière synchronisation le 31 décembre 2025 à 18\u00a0h\u00a000");
    assert.equal(lastSyncLabel(null, now), "jamais synchronisé");
  });
  it("counts conflicts and changes", () => {
    assert.equal(conflictsLabel(1), "1 conflit à résoudre");
    assert.equal(conflictsLabel(3), "3 conflits à résoudre");
    assert.equal(pendingLabel(1), "1 modification à envoyer");
    assert.equal(pendingLabel(1200), "1\u202f200 modifications à envoyer");
  });
  it("announces a state, with the conflicts, never a progress value", () => {
    const base: SyncStatus = {
      state: "syncing",
      server_url: "https://t.example",
      structure_name: "S",
      progress: 0.4,
      pending_changes: 2,
      refused_changes: 0,
      conflicts: 0,
      last_synced_at: null,
      message: null,
    };
    assert.equal(syncAnnouncement(base), "Synchronisation en cours.");
    assert.equal(syncAnnouncement({ ...base, state: "offline", progress: null, message: "Pas de réseau." }), "Hors ligne. Pas de réseau.");
    assert.equal(syncAnnouncement({ ...base, state: "up_to_date", conflicts: 2 }), "Synchronisation terminée, le dossier est à jour. 2 conflits à résoudre.");
  });
});

describe("enrolment code", () => {
  it("accepts lower case, spaces and missing dashes", () => {
    assert.equal(normaliseEnrolmentCode("abcdefghjklmnpqr"), "ABCD-EFGH-JKLM-NPQR");
    assert.equal(normaliseEnrolmentCode(" abcd efgh-jklm–npqr "), "ABCD-EFGH-JKLM-NPQR");
    assert.equal(normaliseEnrolmentCode("ABCD-EFGH-JKLM-NPQR"), "ABCD-EFGH-JKLM-NPQR");
  });
  it("refuses what cannot be a code", () => {
    assert.equal(normaliseEnrolmentCode("abcd-efgh"), null);
    assert.equal(normaliseEnrolmentCode("ABCD-EFGH-JKLM-NPQR-STUV"), null);
    assert.equal(normaliseEnrolmentCode("ABCD-EFGH-JKLM-NPQ!"), null);
  });
});

describe("route to the conflicts", () => {
  it("knows the conflicts screen", () => {
    assert.deepEqual(parseRoute("#/conflits"), { name: "conflicts" });
  });
});

describe("follow-up routes and labels", () => {
  it("reaches a person's follow-up, the status review and the review groups", () => {
    const id = "0f000000-0000-4000-8000-000000000001";
    assert.deepEqual(parseRoute(followUpHref(id)), { name: "followup", id });
    assert.deepEqual(parseRoute(`#/personne/${id}`), { name: "person", id });
    assert.deepEqual(parseRoute("#/point-de-situation"), { name: "review" });
    assert.deepEqual(parseRoute("#/groupes-de-suivi"), { name: "meetings", id: null });
    assert.deepEqual(parseRoute(meetingHref(id)), { name: "meetings", id });
  });

  it("writes the review's flags as the domain does", () => {
    assert.equal(flagLabel({ kind: "no_interview", weeks: 8, last: null }), "Aucun entretien");
    assert.equal(flagLabel({ kind: "no_interview", weeks: 8, last: "2026-09-01" }), "Pas d’entretien depuis 8 semaines ou plus");
    assert.equal(flagLabel({ kind: "step_overdue", count: 1, oldest_due: "2026-09-01" }), "1 étape en retard");
    assert.equal(flagLabel({ kind: "step_overdue", count: 3, oldest_due: "2026-09-01" }), "3 étapes en retard");
    assert.equal(flagLabel({ kind: "back_at_work", since: "2026-10-01" }), "Retour à l’emploi le 1er octobre 2026");
    const row = { flags: [{ kind: "no_interview", weeks: 8, last: null }, { kind: "step_overdue", count: 2, oldest_due: "2026-09-01" }] } as ReviewRow;
    assert.equal(agendaReason(row), "Aucun entretien ; 2 étapes en retard");
  });

  it("says where each work follow-up stands, in words", () => {
    assert.equal(workFollowUpLabel({ months: 3, due: "2027-01-15", state: { state: "upcoming" } }), "3 mois : prévu le 15 janvier 2027");
    assert.equal(workFollowUpLabel({ months: 1, due: "2026-11-15", state: { state: "done", on: "2026-11-10" } }), "1 mois : fait le 10 novembre 2026");
    assert.equal(workFollowUpLabel({ months: 1, due: "2026-11-15", state: { state: "missed" } }), "1 mois : non fait (prévu le 15 novembre 2026)");
  });

  it("offers the CAF codes of the vendored list for a suspension or a closure only", () => {
    assert.equal(cafReasonsFor("suspended").length, 24);
    assert.equal(cafReasonsFor("closed").length, 9);
    assert.equal(cafReasonsFor("open").length, 0);
  });

  it("counts calendar months as the domain does (the fake's work follow-ups)", () => {
    assert.equal(addMonths("2027-01-31", 1), "2027-02-28");
    assert.equal(addMonths("2028-01-31", 1), "2028-02-29");
    assert.equal(addMonths("2026-10-15", 3), "2027-01-15");
  });
});
