/** Exit codes (../shared/PRODUCT.md, "Commands"). Set in `main` only. */
export const EXIT = {
  ok: 0,
  error: 1,
  /** `plan --detailed-exitcode` with changes present. */
  changes: 2,
  /** After SIGINT, once the journal is flushed. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
