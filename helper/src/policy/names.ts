// Strict patterns for every name that reaches a firewall rule, a sudoers line, a .vv file or a path.
import net from 'node:net';
import { ACCOUNT_RE, ID_RE, PATH_RE } from '../boundary/index.js';

// The patterns that cross to open-console and the launcher live in the boundary module.
export { ACCOUNT_RE, ID_RE, PATH_RE };

/** Longest directory name accepted, in UTF-8 bytes (glibc's LOGIN_NAME_MAX is 256 with its NUL). */
export const DIRECTORY_NAME_MAX_BYTES = 255;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Free text that ends up as one `key=value` line of a .vv file: printable, no line breaks. */
const TEXT_RE = /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u;

/** Why `value` is not an acceptable id, or null when it is. */
export function checkId(value: string): string | null {
  return ID_RE.test(value) ? null : `must match ${ID_RE.source} (lowercase letters, digits, '_' and '-')`;
}

/** Why `value` is not an acceptable name for a local account we create, or null. */
export function checkAccount(value: string): string | null {
  return ACCOUNT_RE.test(value) ? null : `must match ${ACCOUNT_RE.source}`;
}

// What a terminal would act on (C0/C1 controls, DEL) and what would make a name display as another (line and
// paragraph separators, bidirectional overrides and isolates).
const UNSHOWN = '\\p{Cc}\\p{Zl}\\p{Zp}\\u202a-\\u202e\\u2066-\\u2069';
// Plus `:`, which separates the fields of a passwd/group line (a line break, which ends it, is a control).
const UNSHOWABLE_RE = new RegExp(`[${UNSHOWN}:]`, 'u');
const UNSHOWN_ALL_RE = new RegExp(`[${UNSHOWN}]`, 'gu');
// Short ASCII, starting with a letter or `_`, no `:` or white space: not empty, not all digits, no leading `-`/`+`.
const PLAIN_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.@$\\-]{0,63}$/;

/**
 * Why `value` is not a user or group name as a directory may spell it (`alice@corp.example.com`, `Domain Users`,
 * `CORP\alice`, `host$`, uppercase), or null. Names are only ever looked up and shown, never rendered into rules
 * (those get numbers), so the check is about what NSS can return and what a person can read unambiguously.
 */
export function checkDirectoryName(value: string): string | null {
  // The common spelling (a policy names 100,000 users) in one test: every rule of directoryNameProblem holds for it.
  return PLAIN_NAME_RE.test(value) ? null : directoryNameProblem(value);
}

/** checkDirectoryName's rules themselves, without its shortcut (test/unit/directory-names.test.ts holds them equal). */
export function directoryNameProblem(value: string): string | null {
  if (value === '') return 'must not be empty';
  if (Buffer.byteLength(value, 'utf8') > DIRECTORY_NAME_MAX_BYTES) return `must be at most ${DIRECTORY_NAME_MAX_BYTES} bytes`;
  if (UNSHOWABLE_RE.test(value)) return 'must not contain `:`, control characters, line breaks or bidirectional overrides';
  if (value.trim() !== value) return 'must not begin or end with white space';
  // getent and the C library read an all-digit key as a uid/gid, not a name.
  if (/^[0-9]+$/.test(value)) return 'must not be all digits (it would be read as a number)';
  // A leading `-` reads as an option to getent; `+`/`-` lines are NIS compat entries in /etc/passwd and /etc/group.
  if (/^[-+]/.test(value)) return 'must not begin with `-` or `+`';
  return null;
}

/** A name NSS returned, quoted for a terminal or a log: controls and display-spoofing characters become `\\uXXXX`. */
export function quoteName(value: string): string {
  const body = escapeUnshown(value.replace(/[\\"]/g, (c) => `\\${c}`));
  return `"${body.length > 120 ? `${body.slice(0, 117)}...` : body}"`;
}

/** `value` with every control and display-spoofing character written as `\\uXXXX` (JSON leaves C1 and bidi raw). */
export function escapeUnshown(value: string): string {
  return value.replace(UNSHOWN_ALL_RE, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** Whether a uid or gid field from NSS is a plain decimal id (not `-1`, `1e3`, empty or out of range). */
export function isNumericId(field: string): boolean {
  return /^(0|[1-9][0-9]{0,9})$/.test(field) && Number(field) <= 4294967294;
}

/** Why `value` is not an acceptable absolute path, or null. */
export function checkPath(value: string): string | null {
  if (!PATH_RE.test(value)) return `must be an absolute path of letters, digits and ._+- (got ${JSON.stringify(value)})`;
  if (value.split('/').some((seg) => seg === '.' || seg === '..')) return 'must not contain . or .. segments';
  return null;
}

/** Why `value` is neither a host name nor a literal IP address, or null. */
export function checkHost(value: string): string | null {
  if (net.isIP(value) !== 0) return null;
  return HOSTNAME_RE.test(value) && !/^[0-9.]+$/.test(value) ? null : 'must be a host name or a literal IPv4/IPv6 address';
}

/** Why `value` cannot be a one-line text field, or null. */
export function checkText(value: string, max = 200): string | null {
  if (value.length > max) return `must be at most ${max} characters`;
  return TEXT_RE.test(value) ? null : 'must not contain control characters or line breaks';
}
