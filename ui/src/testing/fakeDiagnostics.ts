// The diagnostic commands of the fake backend. Its `missing` and `suggestion` rules are only
// plausible stand-ins: the real rules live in Rust (crates/domain/src/diagnostic_rules.rs).
import referentielJson from "../../../reference/diagnostic-referentiel.json";
import type { ActionStatus } from "../bindings/ActionStatus";
import type { ContractType } from "../bindings/ContractType";
import type { Diagnostic } from "../bindings/Diagnostic";
import type { DiagnosticEdit } from "../bindings/DiagnosticEdit";
import type { DiagnosticSummary } from "../bindings/DiagnosticSummary";
import type { Grade } from "../bindings/Grade";
import type { IpcError } from "../bindings/IpcError";
import type { Orientation } from "../bindings/Orientation";
import type { OrientationSuggestion } from "../bindings/OrientationSuggestion";
import type { Profile } from "../bindings/Profile";
import type { QualificationLevel } from "../bindings/QualificationLevel";
import type { Referentiel } from "../bindings/Referentiel";
import type { RomeMatch } from "../bindings/RomeMatch";
import type { WorkingTime } from "../bindings/WorkingTime";

const NNBSP = "\u202f";

export const REFERENTIEL: Referentiel = {
  version: "cdb-2024-02-29",
  attribution: referentielJson.source.attribution,
  themes: referentielJson.themes.map((t) => ({
    key: t.key,
    label: t.label,
    situations: t.situations,
    objectives: t.objectives,
    actions: t.actions,
  })),
};

const ROME: { code: string; code_label: string; titles: string[] }[] = [
  { code: "K2204", code_label: "Nettoyage de locaux", titles: ["Agent / Agente de propreté", "Agent / Agente d'entretien de locaux"] },
  { code: "G1602", code_label: "Personnel de cuisine", titles: ["Commis / Commise de cuisine", "Cuisinier / Cuisinière"] },
  { code: "G1603", code_label: "Personnel polyvalent en restauration", titles: ["Employé / Employée polyvalent(e) de restauration"] },
  { code: "D1507", code_label: "Mise en rayon libre-service", titles: ["Employé / Employée de libre-service", "Employé / Employée de rayon"] },
  { code: "D1505", code_label: "Personnel de caisse", titles: ["Hôte / Hôtesse de caisse"] },
  { code: "N1103", code_label: "Magasinage et préparation de commandes", titles: ["Préparateur / Préparatrice de commandes", "Magasinier / Magasinière"] },
  { code: "N4101", code_label: "Conduite de transport de marchandises sur longue distance", titles: ["Chauffeur / Chauffeuse poids lourd"] },
  { code: "N4105", code_label: "Conduite et livraison par tournées sur courte distance", titles: ["Chauffeur-livreur / Chauffeuse-livreuse"] },
  { code: "K1302", code_label: "Assistance auprès d'adultes", titles: ["Auxiliaire de vie", "Aide à domicile"] },
  { code: "K1303", code_label: "Assistance auprès d'enfants", titles: ["Garde d'enfants à domicile", "Assistant / Assistante maternel(le)"] },
  { code: "J1501", code_label: "Soins d'hygiène, de confort du patient", titles: ["Aide-soignant / Aide-soignante"] },
  { code: "F1703", code_label: "Maçonnerie", titles: ["Maçon / Maçonne"] },
  { code: "F1606", code_label: "Peinture en bâtiment", titles: ["Peintre en bâtiment"] },
  { code: "A1203", code_label: "Aménagement et entretien des espaces verts", titles: ["Jardinier / Jardinière d'espaces verts"] },
  { code: "H2909", code_label: "Montage-assemblage mécanique", titles: ["Monteur / Monteuse en mécanique"] },
  { code: "M1602", code_label: "Opérations administratives", titles: ["Agent / Agente administratif(ve)"] },
  { code: "M1607", code_label: "Secrétariat", titles: ["Secrétaire"] },
  { code: "D1106", code_label: "Vente en alimentation", titles: ["Vendeur / Vendeuse en boulangerie-pâtisserie"] },
  { code: "G1703", code_label: "Réception en hôtellerie", titles: ["Réceptionniste en hôtellerie"] },
  { code: "K2503", code_label: "Sécurité et surveillance privées", titles: ["Agent / Agente de sécurité"] },
];

/** Themes whose obstacles are social rather than professional, for the fake suggestion. */
const SOCIAL_THEMES = new Set([
  "logement",
  "difficulte_administrative",
  "difficulte_financiere",
  "mobilite",
  "sante",
  "contraintes_familiales",
  "maitrise_langue",
  "numerique",
]);

function fail(code: IpcError["code"], message: string, field: string | null = null): never {
  const error: IpcError = { code, message, field };
  throw error;
}

function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

function themeLabel(key: string): string {
  return REFERENTIEL.themes.find((t) => t.key === key)?.label ?? key;
}

const isObstacle = (g: Grade) => g === "obstacle_medium" || g === "obstacle_strong";

function suggest(d: Diagnostic): OrientationSuggestion | null {
  const graded = d.themes.filter((t) => t.grade !== "not_discussed");
  if (graded.length === 0) return null;
  const reasons: string[] = [];
  let socialStrong = 0;
  let socialMedium = 0;
  for (const t of graded) {
    if (t.grade === "obstacle_strong") reasons.push(`Frein fort${NNBSP}: ${themeLabel(t.theme)}`);
    if (t.grade === "obstacle_medium") reasons.push(`Frein moyen${NNBSP}: ${themeLabel(t.theme)}`);
    if (SOCIAL_THEMES.has(t.theme)) {
      if (t.grade === "obstacle_strong") socialStrong += 1;
      if (t.grade === "obstacle_medium") socialMedium += 1;
    }
  }
  let orientation: Orientation = "professional";
  if (socialStrong >= 2) orientation = "social";
  else if (socialStrong === 1 || socialMedium > 0) orientation = "socio_professional";
  if (reasons.length === 0) reasons.push("Aucun frein relevé");
  return { orientation, reasons };
}

function missingOf(d: Diagnostic): string[] {
  const out: string[] = [];
  if (d.co_interviewer.name.trim() === "") out.push("le nom du ou de la co-intervenant·e");
  for (const t of d.themes) {
    const hasObjectives = (REFERENTIEL.themes.find((r) => r.key === t.theme)?.objectives.length ?? 0) > 0;
    if (isObstacle(t.grade) && hasObjectives && !d.plan.some((o) => o.theme === t.theme)) {
      out.push(`un objectif pour le frein «${NNBSP}${themeLabel(t.theme)}${NNBSP}»`);
    }
  }
  if (d.orientation.proposal === null) out.push("l’orientation proposée");
  if (d.consent.sharing === null) out.push("la décision de la personne sur le partage de son dossier");
  const signed = (s: string) => d.signoffs.some((x) => x.signer === s);
  if (!signed("person")) out.push("la signature de la personne");
  if (!signed("caseworker")) out.push("la signature du ou de la conseiller·e");
  if (!signed("co_interviewer")) out.push("la signature du ou de la co-intervenant·e");
  return out;
}

function computed(d: Diagnostic): Diagnostic {
  return { ...d, suggestion: suggest(d), missing: missingOf(d) };
}

function todayIso(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const TOO_LONG = "Ce texte est trop long (5 000 caractères au plus).";
const CHOICE = "Ce choix n’est pas possible.";

function freeText(field: string, raw: string): string {
  if (raw.length > 5000) fail("validation", TOO_LONG, field);
  return raw;
}

function isoDate(field: string, raw: string, allowFuture: boolean): string | null {
  const v = raw.trim();
  if (v === "") return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) {
    fail("validation", `Cette date n’est pas valide. Exemple${NNBSP}: 26/11/2026.`, field);
  }
  if (v < "1900-01-01") fail("validation", "Cette date est trop ancienne (avant 1900).", field);
  if (!allowFuture && v > todayIso()) fail("validation", "Cette date est dans le futur.", field);
  return v;
}

function oneOf<T extends string>(field: string, raw: string, values: readonly T[]): T | null {
  if (raw === "") return null;
  if (!(values as readonly string[]).includes(raw)) fail("validation", CHOICE, field);
  return raw as T;
}

/** The French words recorded in `changes` of an amended version. */
function whatChanged(d: Diagnostic, edit: DiagnosticEdit): string {
  switch (edit.kind) {
    case "set_field":
      return edit.field.startsWith("orientation") ? "Orientation" : edit.field.startsWith("consent") ? "Consentement" : "Entretien";
    case "set_grade":
    case "set_situations":
      return `Thème${NNBSP}: ${themeLabel(edit.theme)}`;
    case "add_note":
    case "edit_note":
    case "set_note_visibility":
    case "remove_note": {
      const theme = edit.kind === "add_note" ? edit.theme : (d.notes.find((n) => n.id === edit.id)?.theme ?? null);
      return theme ? `Note${NNBSP}: ${themeLabel(theme)}` : "Note";
    }
    case "set_contract_types":
    case "add_target_job":
    case "remove_target_job":
      return "Projet professionnel";
    case "set_consent_structures":
      return "Consentement";
    default:
      return "Plan d’action";
  }
}

export interface DiagnosticStore {
  diagnostics: Map<string, Diagnostic>;
  dispatch(cmd: string, args: Record<string, unknown>): unknown;
}

/** `personExists` and `profile` come from the rest of the fake; `newId` makes its UUID-like ids. */
export function createDiagnosticStore(deps: {
  requireUnlocked: () => Profile;
  personExists: (id: string) => boolean;
  newId: () => string;
  /** When false, printing fails as on a laptop without a printer. */
  printerAvailable?: boolean;
}): DiagnosticStore {
  const diagnostics = new Map<string, Diagnostic>();

  function get(id: unknown): Diagnostic {
    const d = diagnostics.get(String(id));
    if (!d) fail("not_found", "Ce diagnostic n’existe pas ou plus.");
    return d;
  }

  function summary(d: Diagnostic): DiagnosticSummary {
    return {
      id: d.id,
      series_id: d.series_id,
      version: d.version,
      status: d.status,
      date: d.date,
      caseworker_name: d.caseworker.name,
      co_interviewer_name: d.co_interviewer.name,
      orientation: d.orientation.proposal,
      finalised_at: d.finalised_at,
    };
  }

  function apply(d: Diagnostic, edit: DiagnosticEdit): Diagnostic {
    const now = new Date().toISOString();
    const next: Diagnostic = structuredClone(d);
    const theme = (key: string) => {
      const t = next.themes.find((x) => x.theme === key);
      if (!t) fail("not_found", "Ce thème n’existe pas dans le référentiel.");
      return t;
    };
    const note = (id: string) => {
      const n = next.notes.find((x) => x.id === id);
      if (!n) fail("not_found", "Cette note n’existe pas ou plus.");
      return n;
    };
    switch (edit.kind) {
      case "set_field": {
        const { field, value } = edit;
        switch (field) {
          case "date":
            next.date = isoDate(field, value, false);
            break;
          case "place":
            next.place = freeText(field, value);
            break;
          case "co_interviewer_name":
            next.co_interviewer.name = freeText(field, value);
            break;
          case "co_interviewer_structure":
            next.co_interviewer.structure = freeText(field, value);
            break;
          case "co_interviewer_role":
            next.co_interviewer.role = oneOf(field, value, ["social", "employment"] as const);
            break;
          case "co_interviewer_contact":
            next.co_interviewer.contact = freeText(field, value);
            break;
          case "caseworker_contact":
            next.caseworker.contact = freeText(field, value);
            break;
          case "next_appointment":
            next.next_appointment = freeText(field, value);
            break;
          case "person_wishes":
            next.person_words.wishes = freeText(field, value);
            break;
          case "person_priorities":
            next.person_words.priorities = freeText(field, value);
            break;
          case "working_time":
            next.project.working_time = oneOf<WorkingTime>(field, value, ["full_time", "part_time", "either"]);
            break;
          case "mobility_radius_km": {
            const v = value.trim();
            if (v === "") next.project.mobility_radius_km = null;
            else if (!/^\d+$/.test(v) || Number(v) > 1000) {
              fail("validation", `Indiquez un nombre entier de kilomètres, de 0 à 1${NNBSP}000.`, field);
            } else next.project.mobility_radius_km = Number(v);
            break;
          }
          case "qualification_level":
            next.project.qualification_level = oneOf<QualificationLevel>(field, value, [
              "none",
              "level3",
              "level4",
              "level5",
              "level6",
              "level7",
              "level8",
            ]);
            break;
          case "experience":
          case "skills":
          case "availability":
            next.project[field] = freeText(field, value);
            break;
          case "orientation":
            next.orientation.proposal = oneOf<Orientation>(field, value, ["professional", "socio_professional", "social"]);
            break;
          case "orientation_reasons":
            next.orientation.reasons = freeText(field, value);
            break;
          case "consent_sharing":
            next.consent.sharing = value === "" ? null : oneOf(field, value, ["true", "false"] as const) === "true";
            break;
          case "consent_share_social_notes":
            next.consent.share_social_notes = oneOf(field, value, ["true", "false"] as const) === "true";
            break;
          default:
            fail("validation", CHOICE, String(field));
        }
        break;
      }
      case "set_grade":
        theme(edit.theme).grade = oneOf<Grade>("grade", edit.grade, [
          "not_discussed",
          "no_obstacle",
          "obstacle_medium",
          "obstacle_strong",
          "lifted",
        ]) as Grade;
        break;
      case "set_situations": {
        const known = REFERENTIEL.themes.find((t) => t.key === edit.theme)?.situations ?? [];
        if (edit.situations.some((s) => !known.includes(s))) fail("validation", CHOICE, "situations");
        theme(edit.theme).situations = known.filter((s) => edit.situations.includes(s));
        break;
      }
      case "add_note":
        if (next.notes.some((n) => n.id === edit.id)) break; // a retried save
        if (edit.theme !== null) theme(edit.theme);
        if (edit.text.trim() === "") fail("validation", "La note est vide.", "note");
        next.notes.push({
          id: edit.id,
          theme: edit.theme,
          author: edit.author,
          visibility: edit.visibility,
          text: freeText("note", edit.text),
          created_at: now,
          updated_at: now,
        });
        break;
      case "edit_note": {
        const n = note(edit.id);
        n.text = freeText("note", edit.text);
        n.updated_at = now;
        break;
      }
      case "set_note_visibility":
        note(edit.id).visibility = edit.visibility;
        break;
      case "remove_note":
        next.notes = next.notes.filter((n) => n.id !== edit.id);
        break;
      case "set_contract_types": {
        const all: ContractType[] = ["cdi", "cdd", "interim", "alternance", "iae", "creation"];
        if (edit.contract_types.some((c) => !all.includes(c))) fail("validation", CHOICE, "contract_types");
        next.project.contract_types = all.filter((c) => edit.contract_types.includes(c));
        break;
      }
      case "add_target_job": {
        const job = ROME.find((r) => r.code === edit.code);
        if (!job) fail("validation", "Ce code ROME n’existe pas.", "target_jobs");
        if (!job.titles.includes(edit.title)) fail("validation", "Ce métier n’existe pas dans le répertoire.", "target_jobs");
        if (!next.project.target_jobs.some((j) => j.code === edit.code && j.title === edit.title)) {
          next.project.target_jobs.push({ code: job.code, title: edit.title });
        }
        break;
      }
      case "remove_target_job":
        next.project.target_jobs = next.project.target_jobs.filter((j) => !(j.code === edit.code && j.title === edit.title));
        break;
      case "add_objective": {
        if (next.plan.some((o) => o.id === edit.id)) break;
        const ref = REFERENTIEL.themes.find((t) => t.key === edit.theme);
        if (!ref || !ref.objectives.includes(edit.label)) fail("validation", CHOICE, "objective");
        next.plan.push({ id: edit.id, theme: edit.theme, label: edit.label, actions: [] });
        break;
      }
      case "remove_objective":
        next.plan = next.plan.filter((o) => o.id !== edit.id);
        break;
      case "add_action": {
        const o = next.plan.find((x) => x.id === edit.objective_id);
        if (!o) fail("not_found", "Cet objectif n’existe pas ou plus.");
        if (next.plan.some((x) => x.actions.some((a) => a.id === edit.id))) break;
        o.actions.push({ id: edit.id, label: freeText("label", edit.label), who: "", due_date: null, status: "planned" });
        break;
      }
      case "set_action_field": {
        const a = next.plan.flatMap((o) => o.actions).find((x) => x.id === edit.id);
        if (!a) fail("not_found", "Cette action n’existe pas ou plus.");
        if (edit.field === "label") a.label = freeText("label", edit.value);
        else if (edit.field === "who") a.who = freeText("who", edit.value);
        else if (edit.field === "due_date") a.due_date = isoDate("due_date", edit.value, true);
        else
          a.status = oneOf<ActionStatus>("status", edit.value, ["planned", "in_progress", "done", "abandoned", "cancelled"]) ?? "planned";
        break;
      }
      case "remove_action":
        for (const o of next.plan) o.actions = o.actions.filter((a) => a.id !== edit.id);
        break;
      case "set_consent_structures":
        next.consent.structures = edit.structures.map((s) => s.trim()).filter(Boolean);
        break;
      case "sign_off": {
        const name = edit.name.trim();
        if (name === "") fail("validation", "Tapez le nom pour signer.", `signoff_${edit.signer}`);
        next.signoffs = next.signoffs.filter((s) => s.signer !== edit.signer);
        next.signoffs.push({ signer: edit.signer, name, signed_at: now });
        break;
      }
      case "withdraw_sign_off":
        next.signoffs = next.signoffs.filter((s) => s.signer !== edit.signer);
        break;
      case "finalise":
        fail("validation", "Finalisez avec la commande finalise_diagnostic.");
    }
    if (edit.kind !== "sign_off" && edit.kind !== "withdraw_sign_off") {
      // Signatures approve a content: any change to it asks for them again.
      next.signoffs = [];
      if (next.version >= 2) next.changes.push({ at: now, by: next.caseworker.name, what: whatChanged(d, edit) });
    }
    return computed(next);
  }

  function dispatch(cmd: string, args: Record<string, unknown>): unknown {
    switch (cmd) {
      case "referentiel":
        deps.requireUnlocked();
        return REFERENTIEL;
      case "search_rome": {
        deps.requireUnlocked();
        const terms = fold(String(args.query ?? "")).split(/\s+/).filter(Boolean);
        if (terms.length === 0) return [];
        const out: RomeMatch[] = [];
        for (const r of ROME) {
          for (const title of r.titles) {
            const hay = fold(`${r.code} ${r.code_label} ${title}`);
            if (terms.every((t) => hay.includes(t))) out.push({ code: r.code, code_label: r.code_label, title });
          }
        }
        return out.slice(0, 20);
      }
      case "list_diagnostics": {
        deps.requireUnlocked();
        const personId = String(args.personId);
        return [...diagnostics.values()]
          .filter((d) => d.person_id === personId)
          .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.version - a.version)
          .map(summary);
      }
      case "start_diagnostic": {
        const profile = deps.requireUnlocked();
        const personId = String(args.personId);
        if (!deps.personExists(personId)) fail("not_found", "Cette personne n’existe pas ou plus.");
        const now = new Date().toISOString();
        const d: Diagnostic = computed({
          id: deps.newId(),
          person_id: personId,
          series_id: deps.newId(),
          version: 1,
          status: "draft",
          referentiel_version: REFERENTIEL.version,
          date: todayIso(),
          place: "",
          caseworker: { name: profile.caseworker_name, structure: profile.structure_name, role: profile.role, contact: "" },
          co_interviewer: { name: "", structure: "", role: null, contact: "" },
          themes: REFERENTIEL.themes.map((t) => ({ theme: t.key, grade: "not_discussed", situations: [] })),
          notes: [],
          person_words: { wishes: "", priorities: "" },
          next_appointment: "",
          project: {
            target_jobs: [],
            contract_types: [],
            working_time: null,
            mobility_radius_km: null,
            qualification_level: null,
            experience: "",
            skills: "",
            availability: "",
          },
          orientation: { proposal: null, reasons: "" },
          plan: [],
          consent: { sharing: null, structures: [], share_social_notes: false },
          signoffs: [],
          created_at: now,
          finalised_at: null,
          changes: [],
          suggestion: null,
          missing: [],
        });
        diagnostics.set(d.id, d);
        return d;
      }
      case "get_diagnostic":
        deps.requireUnlocked();
        return get(args.id);
      case "edit_diagnostic": {
        deps.requireUnlocked();
        const d = get(args.id);
        if (d.status === "finalised") fail("finalised", `Ce diagnostic est finalisé${NNBSP}: il ne peut plus être modifié.`);
        const next = apply(d, args.edit as DiagnosticEdit);
        diagnostics.set(next.id, next);
        return next;
      }
      case "finalise_diagnostic": {
        deps.requireUnlocked();
        const d = get(args.id);
        if (d.status === "finalised") fail("finalised", `Ce diagnostic est déjà finalisé.`);
        if (d.missing.length > 0) fail("not_ready", `Il manque encore${NNBSP}: ${d.missing.join(`${NNBSP}; `)}.`);
        const next: Diagnostic = { ...d, status: "finalised", finalised_at: new Date().toISOString() };
        diagnostics.set(next.id, next);
        return next;
      }
      case "amend_diagnostic": {
        deps.requireUnlocked();
        const d = get(args.id);
        if (d.status !== "finalised") fail("validation", "Ce diagnostic n’est pas encore finalisé.");
        const newer = [...diagnostics.values()].find((x) => x.series_id === d.series_id && x.version > d.version);
        if (newer) fail("draft_exists", "Une nouvelle version de ce diagnostic existe déjà.");
        const next: Diagnostic = computed({
          ...structuredClone(d),
          id: deps.newId(),
          version: d.version + 1,
          status: "draft",
          signoffs: [],
          created_at: new Date().toISOString(),
          finalised_at: null,
          changes: [],
        });
        diagnostics.set(next.id, next);
        return next;
      }
      case "print_diagnostic": {
        deps.requireUnlocked();
        get(args.id);
        if (deps.printerAvailable === false) {
          fail(
            "print_failed",
            `L’impression n’a pas pu être lancée${NNBSP}: vérifiez qu’une imprimante est branchée et choisie par défaut, ou enregistrez le document en PDF.`,
          );
        }
        return null;
      }
      case "save_diagnostic_pdf": {
        deps.requireUnlocked();
        get(args.id);
        return args.audience === "person" ? "diagnostic-Helene-Lefevre.pdf" : "diagnostic-complet-Helene-Lefevre.pdf";
      }
      default:
        return fail("internal", `Commande inconnue du faux backend${NNBSP}: ${cmd}`);
    }
  }

  return { diagnostics, dispatch };
}
