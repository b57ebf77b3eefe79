import { useId, type InputHTMLAttributes, type ReactNode, type Ref } from "react";
import { fr } from "../lib/format";

function text(node: ReactNode): ReactNode {
  return typeof node === "string" ? fr(node) : node;
}

interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "onChange"> {
  label: ReactNode;
  value: string;
  onValueChange: (value: string, input: HTMLInputElement) => void;
  hint?: ReactNode;
  error?: string | null;
  inputRef?: Ref<HTMLInputElement>;
  /** Extra information shown under the input, not tied to validation (derived values). */
  after?: ReactNode;
}

/** A labelled input whose hint and error are announced with it (aria-describedby). */
export function TextField({
  label,
  value,
  onValueChange,
  hint,
  error,
  inputRef,
  after,
  className,
  ...rest
}: TextFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field--invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={hintId}>
          {text(hint)}
        </p>
      ) : null}
      <input
        {...rest}
        id={id}
        ref={inputRef}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => onValueChange(e.target.value, e.target)}
      />
      <FieldError id={errorId} error={error} />
      {after}
    </div>
  );
}

interface CheckboxFieldProps {
  label: ReactNode;
  checked: boolean;
  onCheckedChange: (checked: boolean) => void;
  hint?: ReactNode;
  error?: string | null;
  name?: string;
  inputRef?: Ref<HTMLInputElement>;
}

export function CheckboxField({ label, checked, onCheckedChange, hint, error, name, inputRef }: CheckboxFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field field--checkbox${error ? " field--invalid" : ""}`}>
      <div className="checkbox">
        <input
          type="checkbox"
          id={id}
          ref={inputRef}
          name={name}
          checked={checked}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => onCheckedChange(e.target.checked)}
        />
        <label htmlFor={id}>{label}</label>
      </div>
      {hint ? (
        <p className="hint" id={hintId}>
          {text(hint)}
        </p>
      ) : null}
      <FieldError id={errorId} error={error} />
    </div>
  );
}

interface TextAreaFieldProps {
  label: ReactNode;
  value: string;
  onValueChange: (value: string) => void;
  onBlur?: () => void;
  hint?: ReactNode;
  error?: string | null;
  rows?: number;
  name?: string;
  disabled?: boolean;
  textareaRef?: Ref<HTMLTextAreaElement>;
  "data-testid"?: string;
}

/** A labelled multi-line input, for what people say in their own words. */
export function TextAreaField({ label, value, onValueChange, onBlur, hint, error, rows = 3, name, disabled, textareaRef, ...rest }: TextAreaFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field--invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={hintId}>
          {text(hint)}
        </p>
      ) : null}
      <textarea
        id={id}
        ref={textareaRef}
        name={name}
        rows={rows}
        value={value}
        disabled={disabled}
        data-testid={rest["data-testid"]}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => onValueChange(e.target.value)}
        onBlur={onBlur}
      />
      <FieldError id={errorId} error={error} />
    </div>
  );
}

interface RadioGroupFieldProps {
  legend: ReactNode;
  name: string;
  value: string;
  options: readonly (readonly [string, ReactNode])[];
  onValueChange: (value: string) => void;
  hint?: ReactNode;
  error?: string | null;
  /** Lay the options out on one line when they are short. */
  inline?: boolean;
  "data-testid"?: string;
}

/** Native radios in a fieldset: arrow keys move between options, Tab leaves the group. */
export function RadioGroupField({ legend, name, value, options, onValueChange, hint, error, inline = false, ...rest }: RadioGroupFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <fieldset
      className={`field radio-group${inline ? " radio-group--inline" : ""}${error ? " field--invalid" : ""}`}
      aria-describedby={describedBy}
      data-testid={rest["data-testid"]}
    >
      <legend>{text(legend)}</legend>
      {hint ? (
        <p className="hint" id={hintId}>
          {text(hint)}
        </p>
      ) : null}
      <div className="radio-group__options">
        {options.map(([v, label]) => (
          <div className="radio" key={v}>
            <input type="radio" id={`${id}-${v}`} name={`${name}-${id}`} value={v} checked={value === v} onChange={() => onValueChange(v)} />
            <label htmlFor={`${id}-${v}`}>{text(label)}</label>
          </div>
        ))}
      </div>
      <FieldError id={errorId} error={error} />
    </fieldset>
  );
}

/** The French message under a refused field, referenced by the field's aria-describedby. */
function FieldError({ id, error }: { id: string; error?: string | null }) {
  if (!error) return null;
  return (
    <p className="error" id={id}>
      <span aria-hidden="true" className="error__icon">
        !
      </span>
      {fr(error)}
    </p>
  );
}
