import { useId, useRef, useState, type FormEvent } from "react";
import type { Profile } from "../bindings/Profile";
import type { Role } from "../bindings/Role";
import { TextField } from "../components/Field";
import { useBackend } from "../lib/backendContext";
import type { IpcError } from "../lib/ipc";
import { fr } from "../lib/format";
import { useDocumentTitle } from "../lib/route";

type FieldName = "caseworker_name" | "structure_name" | "role" | "passphrase" | "passphrase_confirm";
type Errors = Partial<Record<FieldName, string>>;

const REQUIRED = "Ce champ est obligatoire.";
const ORDER: FieldName[] = ["caseworker_name", "structure_name", "role", "passphrase", "passphrase_confirm"];

export function FirstRun({ onCreated }: { onCreated: (profile: Profile) => void }) {
  useDocumentTitle("Premier démarrage");
  const backend = useBackend();
  const [name, setName] = useState("");
  const [structure, setStructure] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [passphrase, setPassphrase] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [alert, setAlert] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);
  const structureRef = useRef<HTMLInputElement>(null);
  const roleRef = useRef<HTMLInputElement>(null);
  const passphraseRef = useRef<HTMLInputElement>(null);
  const confirmRef = useRef<HTMLInputElement>(null);
  const roleLegendId = useId();
  const roleErrorId = useId();

  function focusFirst(found: Errors) {
    const refs = {
      caseworker_name: nameRef,
      structure_name: structureRef,
      role: roleRef,
      passphrase: passphraseRef,
      passphrase_confirm: confirmRef,
    };
    const first = ORDER.find((f) => found[f]);
    if (first) refs[first].current?.focus();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Errors = {};
    if (!name.trim()) found.caseworker_name = REQUIRED;
    if (!structure.trim()) found.structure_name = REQUIRED;
    if (!role) found.role = "Choisissez votre rôle.";
    if (!passphrase) found.passphrase = REQUIRED;
    if (!confirm) found.passphrase_confirm = REQUIRED;
    else if (passphrase !== confirm) found.passphrase_confirm = "Les deux phrases de passe ne sont pas identiques.";
    setErrors(found);
    setAlert(null);
    if (Object.keys(found).length > 0 || !role) {
      focusFirst(found);
      return;
    }
    setBusy(true);
    try {
      const profile = await backend.createProfile({
        caseworker_name: name,
        structure_name: structure,
        role,
        passphrase,
      });
      onCreated(profile);
    } catch (raw) {
      const error = raw as IpcError;
      const field = error.field as FieldName | null;
      if (field && ORDER.includes(field)) {
        const next = { [field]: error.message };
        setErrors(next);
        focusFirst(next);
      } else {
        setAlert(error.message);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="narrow">
      <h1>Bienvenue dans Tandem</h1>
      <p className="lead">
        Premier démarrage{fr(" : ")}créez votre profil. Il reste sur cet ordinateur, avec le dossier chiffré des
        personnes que vous accompagnez.
      </p>
      <form className="card form" onSubmit={submit} noValidate aria-label="Créer mon profil">
        <div role="alert" className="alert-slot">
          {alert ? <p className="alert alert--error">{fr(alert)}</p> : null}
        </div>
        <TextField
          label="Nom et prénom"
          name="caseworker_name"
          autoComplete="name"
          value={name}
          onValueChange={setName}
          error={errors.caseworker_name}
          inputRef={nameRef}
          data-testid="profile-name"
        />
        <TextField
          label="Structure"
          hint="Par exemple : Département du Rhône, Mission locale de Villeurbanne."
          name="structure_name"
          autoComplete="organization"
          value={structure}
          onValueChange={setStructure}
          error={errors.structure_name}
          inputRef={structureRef}
          data-testid="profile-structure"
        />
        <fieldset
          className={`field radio-group${errors.role ? " field--invalid" : ""}`}
          aria-describedby={errors.role ? roleErrorId : undefined}
        >
          <legend id={roleLegendId}>Votre rôle dans les entretiens</legend>
          <div className="radio">
            <input
              type="radio"
              id="role-social"
              name="role"
              value="social"
              ref={roleRef}
              checked={role === "social"}
              onChange={() => setRole("social")}
              data-testid="profile-role-social"
            />
            <label htmlFor="role-social">Travail social</label>
          </div>
          <div className="radio">
            <input
              type="radio"
              id="role-employment"
              name="role"
              value="employment"
              checked={role === "employment"}
              onChange={() => setRole("employment")}
              data-testid="profile-role-employment"
            />
            <label htmlFor="role-employment">Emploi</label>
          </div>
          {errors.role ? (
            <p className="error" id={roleErrorId}>
              <span aria-hidden="true" className="error__icon">
                !
              </span>
              {errors.role}
            </p>
          ) : null}
        </fieldset>
        <TextField
          label="Phrase de passe"
          hint={fr(
            "Au moins 10 caractères, par exemple quatre mots. Elle déverrouille Tandem après une période d’inactivité, et elle permet de récupérer le dossier si le trousseau du système est réinitialisé. Notez-la en lieu sûr : personne ne peut la retrouver pour vous.",
          )}
          type="password"
          name="passphrase"
          autoComplete="new-password"
          value={passphrase}
          onValueChange={setPassphrase}
          error={errors.passphrase}
          inputRef={passphraseRef}
          data-testid="profile-passphrase"
        />
        <TextField
          label="Confirmation de la phrase de passe"
          type="password"
          name="passphrase_confirm"
          autoComplete="new-password"
          value={confirm}
          onValueChange={setConfirm}
          error={errors.passphrase_confirm}
          inputRef={confirmRef}
          data-testid="profile-passphrase-confirm"
        />
        <div className="actions">
          <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="profile-submit">
            Créer mon profil
          </button>
        </div>
      </form>
    </div>
  );
}
