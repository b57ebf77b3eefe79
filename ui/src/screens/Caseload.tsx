import { useEffect, useRef, useState } from "react";
import type { PersonList } from "../bindings/PersonList";
import { AddPersonDialog } from "../components/AddPersonDialog";
import { useBackend } from "../lib/backendContext";
import type { IpcError } from "../lib/ipc";
import { ageFromIso, countPersons, fr, frenchDate, frenchNumber, fullName, RSA_LABELS } from "../lib/format";
import { navigate, personHref, useDocumentTitle } from "../lib/route";

const SEARCH_DELAY_MS = 150;

export function Caseload({ query, onQueryChange }: { query: string; onQueryChange: (q: string) => void }) {
  useDocumentTitle("Mes personnes accompagnées");
  const backend = useBackend();
  const [result, setResult] = useState<{ list: PersonList; query: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const latest = useRef(0);
  const firstSearch = useRef(true);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  useEffect(() => {
    const seq = ++latest.current;
    const delay = firstSearch.current ? 0 : SEARCH_DELAY_MS;
    firstSearch.current = false;
    const timer = setTimeout(() => {
      backend.searchPersons(query.trim()).then(
        (list) => {
          if (seq !== latest.current) return;
          setResult({ list, query: query.trim() });
          setError(null);
        },
        (raw: IpcError) => {
          if (seq !== latest.current) return;
          setError(raw.message);
        },
      );
    }, delay);
    return () => clearTimeout(timer);
  }, [backend, query]);

  let summary = "";
  if (result) {
    const { list, query: q } = result;
    if (list.total === 0) {
      summary = q
        ? fr(`Aucune personne ne correspond à « ${q} ».`)
        : "Aucune personne pour l’instant. Commencez par « Ajouter une personne ».";
    } else if (list.total > list.items.length) {
      summary = `${countPersons(list.total)} — les ${frenchNumber(list.items.length)} premières sont affichées. Précisez la recherche.`;
    } else {
      summary = countPersons(list.total);
    }
  }

  return (
    <div className="caseload">
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Mes personnes accompagnées
        </h1>
        <button type="button" className="button button--primary" onClick={() => setAdding(true)} data-testid="add-person">
          <span aria-hidden="true" className="button__icon">
            +
          </span>
          Ajouter une personne
        </button>
      </div>
      <div role="search" className="search">
        <label htmlFor="caseload-search">Rechercher une personne</label>
        <p className="hint" id="caseload-search-hint">
          Par nom ou prénom, sans se soucier des accents ni des majuscules.
        </p>
        <input
          id="caseload-search"
          type="search"
          value={query}
          onChange={(e) => onQueryChange(e.target.value)}
          aria-describedby="caseload-search-hint"
          autoComplete="off"
          spellCheck={false}
          data-testid="search"
        />
      </div>
      <p role="status" className="result-count" data-testid="result-count">
        {error ? fr(error) : fr(summary)}
      </p>
      {result && result.list.items.length > 0 ? (
        <ul className="person-list" aria-label="Personnes accompagnées" data-testid="person-list">
          {result.list.items.map((p) => {
            const age = ageFromIso(p.birth_date);
            return (
              <li key={p.id}>
                <a href={personHref(p.id)} className="person-row" data-testid="person-row">
                  <span className="person-row__name">{fullName(p)}</span>
                  <span className="person-row__meta">
                    <span>
                      {p.birth_date
                        ? `${frenchDate(p.birth_date)}${age !== null ? ` (${age} ans)` : ""}`
                        : "Date de naissance inconnue"}
                    </span>
                    <span>{p.commune || "Commune non renseignée"}</span>
                    <span>{RSA_LABELS[p.rsa_status]}</span>
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      ) : null}
      <AddPersonDialog
        isOpen={adding}
        onOpenChange={setAdding}
        onCreated={(person) => {
          setAdding(false);
          navigate(personHref(person.id));
        }}
      />
    </div>
  );
}
