// « Point de situation »: who was met when, where each pathway stands and what needs attention,
// for the caseworker's persons or the whole structure. The flags are computed in Rust from the two
// settings; the table is read again when they change. Exports go through the system's save dialog.
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { Dialog, Heading, Modal, ModalOverlay } from "react-aria-components";
import type { ReviewExportFormat } from "../bindings/ReviewExportFormat";
import type { ReviewMeeting } from "../bindings/ReviewMeeting";
import type { ReviewRow } from "../bindings/ReviewRow";
import type { ReviewScope } from "../bindings/ReviewScope";
import type { ReviewSettings } from "../bindings/ReviewSettings";
import type { StatusReview } from "../bindings/StatusReview";
import { RadioGroupField, TextAreaField, TextField } from "../components/Field";
import { SelectField, todayIso } from "../components/followup/forms";
import { useBackend } from "../lib/backendContext";
import { fr, frenchDate } from "../lib/format";
import { agendaReason, countDays, days, flagLabel } from "../lib/followupLabels";
import { toIpcError, type IpcError } from "../lib/ipc";
import { followUpHref, meetingHref, MEETINGS_HREF, useDocumentTitle } from "../lib/route";

const REFRESH_DELAY_MS = 300;
const NOT_A_NUMBER = "Saisissez un nombre entier, par exemple 8.";

function parseCount(raw: string): number | null {
  return /^\s*\d+\s*$/.test(raw) ? Number(raw) : null;
}

export function StatusReviewScreen() {
  useDocumentTitle("Point de situation");
  const backend = useBackend();
  const [weeks, setWeeks] = useState("8");
  const [daysWindow, setDaysWindow] = useState("30");
  const [scope, setScope] = useState<ReviewScope>("caseload");
  const [review, setReview] = useState<StatusReview | null>(null);
  /** Refusals of Rust; a value that is not a whole number is refused here, before any call. */
  const [refused, setErrors] = useState<{ weeks?: string; days?: string }>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [exportNotice, setExportNotice] = useState("");
  const [exporting, setExporting] = useState(false);
  const [meetings, setMeetings] = useState<ReviewMeeting[] | null>(null);
  const [adding, setAdding] = useState<ReviewRow | null>(null);
  const [agendaNotice, setAgendaNotice] = useState<{ text: string; meetingId: string } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const latest = useRef(0);
  const first = useRef(true);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  const settings: ReviewSettings | null = (() => {
    const w = parseCount(weeks);
    const d = parseCount(daysWindow);
    return w === null || d === null ? null : { no_interview_weeks: w, status_change_days: d };
  })();
  const settingsKey = settings ? `${settings.no_interview_weeks}/${settings.status_change_days}` : null;
  const errors = {
    weeks: parseCount(weeks) === null ? NOT_A_NUMBER : refused.weeks,
    days: parseCount(daysWindow) === null ? NOT_A_NUMBER : refused.days,
  };

  useEffect(() => {
    if (settingsKey === null) return;
    const [w, d] = (settingsKey ?? "").split("/").map(Number) as [number, number];
    const seq = ++latest.current;
    const delay = first.current ? 0 : REFRESH_DELAY_MS;
    first.current = false;
    const timer = setTimeout(() => {
      backend.statusReview({ no_interview_weeks: w, status_change_days: d }, scope).then(
        (r) => {
          if (seq !== latest.current) return;
          setReview(r);
          setErrors({});
          setProblem(null);
        },
        (raw) => {
          if (seq !== latest.current) return;
          const error = toIpcError(raw);
          if (error.field === "no_interview_weeks") setErrors({ weeks: error.message });
          else if (error.field === "status_change_days") setErrors({ days: error.message });
          else setProblem(error.message);
        },
      );
    }, delay);
    return () => clearTimeout(timer);
  }, [backend, settingsKey, scope]);

  useEffect(() => {
    backend.listMeetings().then(setMeetings, () => setMeetings([]));
  }, [backend]);

  async function exportAs(format: ReviewExportFormat) {
    if (exporting) return;
    if (!settings || errors.weeks || errors.days) {
      setExportNotice("");
      setProblem("Corrigez les réglages avant d’exporter.");
      return;
    }
    setExporting(true);
    setExportNotice("");
    setProblem(null);
    try {
      const saved = await backend.saveStatusReview(settings, scope, format);
      // Cancelled in the save dialog: nothing to say.
      if (saved) setExportNotice(`Point de situation enregistré : ${saved}`);
    } catch (raw) {
      setProblem(toIpcError(raw).message);
    } finally {
      setExporting(false);
    }
  }

  const rows = review?.rows ?? [];
  const flagged = rows.filter((r) => r.flags.length > 0).length;

  return (
    <div className="review">
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Point de situation
        </h1>
      </div>
      <p className="lead">Pour chaque personne : le dernier entretien, la prochaine étape, les retards et ce qui demande de l’attention.</p>
      <form className="card review__settings" aria-label="Réglages du point de situation" noValidate onSubmit={(e) => e.preventDefault()}>
        <TextField
          label="Signaler l’absence d’entretien depuis (semaines)"
          inputMode="numeric"
          className="field--short"
          value={weeks}
          onValueChange={(v) => {
            setWeeks(v);
            setErrors({});
          }}
          error={errors.weeks ?? null}
          data-testid="review-weeks"
        />
        <TextField
          label="Signaler un changement de situation sans entretien depuis (jours)"
          inputMode="numeric"
          className="field--short"
          value={daysWindow}
          onValueChange={(v) => {
            setDaysWindow(v);
            setErrors({});
          }}
          error={errors.days ?? null}
          data-testid="review-days"
        />
        <RadioGroupField
          legend="Personnes"
          name="review-scope"
          value={scope}
          onValueChange={(v) => setScope(v as ReviewScope)}
          options={[
            ["caseload", "Mes personnes"],
            ["structure", "Toute la structure"],
          ]}
          data-testid="review-scope"
        />
      </form>
      <div className="review__exports">
        <button type="button" className="button" onClick={() => void exportAs("csv")} aria-disabled={exporting || undefined} data-testid="export-csv">
          Exporter en CSV
        </button>
        <button type="button" className="button" onClick={() => void exportAs("pdf")} aria-disabled={exporting || undefined} data-testid="export-pdf">
          Exporter en PDF
        </button>
        <p role="status" className="review__export-notice" data-testid="export-notice">
          {fr(exportNotice)}
        </p>
      </div>
      {problem ? (
        <p role="alert" className="alert alert--error">
          {fr(problem)}
        </p>
      ) : null}
      <p role="status" className="result-count" data-testid="review-count">
        {review
          ? rows.length === 0
            ? "Aucune personne à faire le point."
            : `${rows.length} personne${rows.length > 1 ? "s" : ""}, dont ${flagged} avec au moins un point d’attention${review.generated_on ? ` — au ${frenchDate(review.generated_on)}` : ""}.`
          : "Calcul du point de situation…"}
      </p>
      {agendaNotice ? (
        <p className="alert alert--ok" data-testid="agenda-notice">
          {fr(agendaNotice.text)} <a href={meetingHref(agendaNotice.meetingId)}>Ouvrir le groupe de suivi</a>
        </p>
      ) : null}
      {rows.length > 0 ? (
        <table className="review-table" data-testid="review-table">
          <caption className="visually-hidden">Point de situation, une ligne par personne</caption>
          <thead>
            <tr>
              <th scope="col">Personne</th>
              <th scope="col">Dernier entretien</th>
              <th scope="col">Prochaine étape</th>
              <th scope="col">Étapes en retard</th>
              <th scope="col">Délais entre étapes</th>
              <th scope="col">Points d’attention</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <ReviewTableRow key={r.person_id} row={r} onAdd={() => setAdding(r)} />
            ))}
          </tbody>
        </table>
      ) : null}
      <AddToMeetingDialog
        row={adding}
        meetings={meetings ?? []}
        onClose={() => setAdding(null)}
        onAdded={(meeting, row) => {
          setMeetings((list) => (list ?? []).map((m) => (m.id === meeting.id ? meeting : m)));
          setAdding(null);
          setAgendaNotice({ text: `${row.name} est à l’ordre du jour du groupe de suivi du ${frenchDate(meeting.date)}.`, meetingId: meeting.id });
        }}
      />
    </div>
  );
}

function ReviewTableRow({ row, onAdd }: { row: ReviewRow; onAdd: () => void }) {
  const since = days(row.days_since_last_interview);
  const longest = days(row.longest_delay_days);
  const waiting = days(row.days_without_step);
  return (
    <tr data-testid="review-row">
      <th scope="row">
        <a href={followUpHref(row.person_id)}>{row.name}</a>
        {row.referent ? <span className="hint review-table__sub">{fr(`Référent·e : ${row.referent}`)}</span> : null}
        <button type="button" className="button button--small review-table__add" onClick={onAdd} aria-label={`Ajouter à un groupe de suivi : ${row.name}`}>
          Ajouter à un groupe de suivi
        </button>
      </th>
      <td>
        {row.last_interview ? (
          <>
            {frenchDate(row.last_interview)}
            {since !== null ? <span className="review-table__sub">il y a {countDays(since)}</span> : null}
          </>
        ) : (
          "Aucun"
        )}
      </td>
      <td>
        {row.next_step ? (
          <>
            {row.next_step.label}
            <span className="review-table__sub">le {frenchDate(row.next_step.date)}</span>
          </>
        ) : (
          "Aucune"
        )}
      </td>
      <td>
        {row.overdue_steps.length === 0 ? (
          "Aucune"
        ) : (
          <ul className="review-table__list">
            {row.overdue_steps.map((o) => (
              <li key={o.step_id}>
                {o.label}
                <span className="review-table__sub">
                  prévue le {frenchDate(o.due)}, {countDays(days(o.days_overdue) ?? 0)} de retard
                </span>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        {longest === null && waiting === null ? (
          "—"
        ) : (
          <ul className="review-table__list">
            {longest !== null ? <li>Plus long : {countDays(longest)}</li> : null}
            {row.delays.length > 1 ? <li>{row.delays.length} délais</li> : null}
            {waiting !== null ? <li>Sans étape depuis {countDays(waiting)}</li> : null}
          </ul>
        )}
      </td>
      <td>
        {row.flags.length === 0 ? (
          "Aucun"
        ) : (
          <ul className="review-table__list review-table__flags" data-testid="review-flags">
            {row.flags.map((f, i) => (
              <li key={`${f.kind}-${i}`}>
                <span aria-hidden="true" className="flag-mark">
                  !
                </span>
                {fr(flagLabel(f))}
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

function AddToMeetingDialog({
  row,
  meetings,
  onClose,
  onAdded,
}: {
  row: ReviewRow | null;
  meetings: ReviewMeeting[];
  onClose: () => void;
  onAdded: (meeting: ReviewMeeting, row: ReviewRow) => void;
}) {
  return (
    <ModalOverlay isOpen={row !== null} onOpenChange={(open) => !open && onClose()} isDismissable className="modal-overlay">
      <Modal className="modal">
        <Dialog className="dialog" data-testid="add-to-meeting-dialog">
          {row ? <AddToMeetingForm row={row} meetings={meetings} onCancel={onClose} onAdded={onAdded} /> : null}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

function AddToMeetingForm({
  row,
  meetings,
  onCancel,
  onAdded,
}: {
  row: ReviewRow;
  meetings: ReviewMeeting[];
  onCancel: () => void;
  onAdded: (meeting: ReviewMeeting, row: ReviewRow) => void;
}) {
  const backend = useBackend();
  const today = todayIso();
  // The next meeting to come by default (the list is newest first), else the latest.
  const upcoming = [...meetings].reverse().find((m) => m.date >= today) ?? meetings[0];
  const [meetingId, setMeetingId] = useState(upcoming?.id ?? "");
  const [reason, setReason] = useState(agendaReason(row));
  const [error, setError] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState(false);
  const titleId = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy || !meetingId) return;
    setBusy(true);
    try {
      const meeting = await backend.editMeeting(meetingId, { kind: "add_case", person_id: row.person_id, reason });
      onAdded(meeting, row);
    } catch (raw) {
      setError(toIpcError(raw));
      setBusy(false);
    }
  }

  return (
    <form className="form" noValidate onSubmit={submit} aria-labelledby={titleId}>
      <Heading slot="title" className="dialog__title" id={titleId}>
        Ajouter {row.name} à un groupe de suivi
      </Heading>
      {meetings.length === 0 ? (
        <>
          <p>Aucun groupe de suivi n’est prévu. Créez-en un depuis « Groupes de suivi », puis revenez ici.</p>
          <div className="dialog__footer">
            <a href={MEETINGS_HREF} className="button button--primary" onClick={onCancel}>
              Aller aux groupes de suivi
            </a>
            <button type="button" className="button" onClick={onCancel}>
              Fermer
            </button>
          </div>
        </>
      ) : (
        <>
          <SelectField
            label="Groupe de suivi"
            value={meetingId}
            onChange={setMeetingId}
            options={meetings.map((m) => [m.id, `Groupe de suivi du ${frenchDate(m.date)}`] as const)}
            testId="meeting-choice"
          />
          <TextAreaField
            label="Motif d’inscription à l’ordre du jour"
            hint="Repris des points d’attention ; vous pouvez le préciser."
            value={reason}
            onValueChange={setReason}
            error={error?.field === "case_reason" ? error.message : null}
            data-testid="case-reason"
          />
          {error && error.field !== "case_reason" ? (
            <p role="alert" className="alert alert--error">
              {fr(error.message)}
            </p>
          ) : null}
          <div className="dialog__footer">
            <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
              Ajouter à l’ordre du jour
            </button>
            <button type="button" className="button" onClick={onCancel}>
              Annuler
            </button>
          </div>
        </>
      )}
    </form>
  );
}
