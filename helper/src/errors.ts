// Typed errors with stable codes; only cli.ts turns them into exit codes.

/** Where in a policy file something is, for `file:line:col` messages. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** One problem found in a policy, with its position. */
export interface Diagnostic {
  pos: SourcePos;
  message: string;
}

/** Formats a position the way compilers do, so editors can jump to it. */
export function formatPos(p: SourcePos): string {
  return `${p.file}:${p.line}:${p.col}`;
}

/** `file:line:col: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${formatPos(d.pos)}: ${d.message}`;
}

/** Stable error codes; scripts and the CLI's exit codes depend on them. */
export type ErrorCode =
  | 'USAGE'
  | 'POLICY_INVALID'
  | 'POLICY_UNREADABLE'
  | 'APPLY_FAILED'
  | 'LOCK_TIMEOUT'
  | 'NOT_ROOT'
  | 'BACKEND_UNAVAILABLE'
  | 'SYSTEM';

/** The one error type the helper raises on purpose; `cause` keeps the underlying failure. */
export class ConsolegateError extends Error {
  readonly code: ErrorCode;
  readonly diagnostics: Diagnostic[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; diagnostics?: Diagnostic[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConsolegateError';
    this.code = code;
    this.diagnostics = options.diagnostics ?? [];
  }
}

/** The message of anything thrown, for wrapping into a ConsolegateError. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
