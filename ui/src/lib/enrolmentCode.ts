/** How the administrator's one-time codes look; shown as the example in the form. */
export const ENROLMENT_CODE_EXAMPLE = "ABCD-EFGH-JKLM-NPQR";

/**
 * The one-time code as the administrator printed it, whatever the caseworker typed: upper case,
 * groups of four joined by dashes. Null when it cannot be one (not 16 letters or digits).
 */
export function normaliseEnrolmentCode(raw: string): string | null {
  const compact = raw.toUpperCase().replace(/[\s‐‑–—_.-]/g, "");
  if (!/^[A-Z0-9]{16}$/.test(compact)) return null;
  return compact.replace(/(.{4})(?=.)/g, "$1-");
}
