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
      {error ? (
        <p className="error" id={errorId}>
          <span aria-hidden="true" className="error__icon">
            !
          </span>
          {fr(error)}
        </p>
      ) : null}
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
}

export function CheckboxField({ label, checked, onCheckedChange, hint, error, name }: CheckboxFieldProps) {
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
      {error ? (
        <p className="error" id={errorId}>
          <span aria-hidden="true" className="error__icon">
            !
          </span>
          {fr(error)}
        </p>
      ) : null}
    </div>
  );
}
