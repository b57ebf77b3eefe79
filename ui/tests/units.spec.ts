// Pure helpers, without a browser: IPC error typing and French formatting.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ageFromIso, countPersons, fr, frenchDate } from "../src/lib/format.ts";
import { FALLBACK_MESSAGE, toIpcError } from "../src/lib/ipc.ts";
import { frenchDateTime, frenchDay } from "../src/lib/diagnosticLabels.ts";
import { diagnosticHref, parseRoute } from "../src/lib/route.ts";
import { fold } from "../src/testing/fakeBackend.ts";

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
