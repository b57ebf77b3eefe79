import { useRef, useState, type FormEvent } from "react";
import { Dialog, Heading, Modal, ModalOverlay } from "react-aria-components";
import type { Person } from "../bindings/Person";
import { useBackend } from "../lib/backendContext";
import type { IpcError } from "../lib/ipc";
import { fr } from "../lib/format";
import { TextField } from "./Field";

type FieldName = "first_name" | "last_name" | "birth_date";
const REQUIRED = "Ce champ est obligatoire.";

export function AddPersonDialog({
  isOpen,
  onOpenChange,
  onCreated,
}: {
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  onCreated: (person: Person) => void;
}) {
  return (
    <ModalOverlay isOpen={isOpen} onOpenChange={onOpenChange} isDismissable className="modal-overlay">
      <Modal className="modal">
        <Dialog className="dialog" data-testid="add-person-dialog">
          {({ close }) => <AddPersonForm onCancel={close} onCreated={onCreated} />}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

function AddPersonForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (person: Person) => void }) {
  const backend = useBackend();
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [birthDate, setBirthDate] = useState("");
  const [birthDateIncomplete, setBirthDateIncomplete] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [alert, setAlert] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const firstNameRef = useRef<HTMLInputElement>(null);
  const lastNameRef = useRef<HTMLInputElement>(null);
  const birthDateRef = useRef<HTMLInputElement>(null);

  function show(found: Partial<Record<FieldName, string>>) {
    setErrors(found);
    const refs = { first_name: firstNameRef, last_name: lastNameRef, birth_date: birthDateRef };
    const first = (["first_name", "last_name", "birth_date"] as const).find((f) => found[f]);
    if (first) refs[first].current?.focus();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const found: Partial<Record<FieldName, string>> = {};
    if (!firstName.trim()) found.first_name = REQUIRED;
    if (!lastName.trim()) found.last_name = REQUIRED;
    if (birthDateIncomplete) found.birth_date = "Cette date est incomplète. Exemple : 14/07/1985.";
    setAlert(null);
    if (Object.keys(found).length > 0) {
      show(found);
      return;
    }
    setBusy(true);
    try {
      const person = await backend.createPerson({ first_name: firstName, last_name: lastName, birth_date: birthDate });
      onCreated(person);
    } catch (raw) {
      const error = raw as IpcError;
      if (error.field === "first_name" || error.field === "last_name" || error.field === "birth_date") {
        show({ [error.field]: error.message });
      } else {
        setErrors({});
        setAlert(error.message);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="form">
      <Heading slot="title" className="dialog__title">
        Ajouter une personne
      </Heading>
      <p className="hint">Les autres informations se complètent ensuite sur sa fiche.</p>
      <div role="alert" className="alert-slot">
        {alert ? <p className="alert alert--error">{fr(alert)}</p> : null}
      </div>
      <TextField
        label="Prénom"
        name="first_name"
        autoComplete="off"
        value={firstName}
        onValueChange={setFirstName}
        error={errors.first_name}
        inputRef={firstNameRef}
        autoFocus
        data-testid="new-person-first-name"
      />
      <TextField
        label="Nom"
        name="last_name"
        autoComplete="off"
        value={lastName}
        onValueChange={setLastName}
        error={errors.last_name}
        inputRef={lastNameRef}
        data-testid="new-person-last-name"
      />
      <TextField
        label="Date de naissance"
        hint="Facultative si elle n’est pas connue."
        type="date"
        name="birth_date"
        value={birthDate}
        onValueChange={(v, input) => {
          setBirthDate(v);
          setBirthDateIncomplete(v === "" && input.validity.badInput);
        }}
        error={errors.birth_date}
        inputRef={birthDateRef}
        data-testid="new-person-birth-date"
      />
      <div className="actions">
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined} data-testid="new-person-submit">
          Créer la fiche
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Annuler
        </button>
      </div>
    </form>
  );
}
