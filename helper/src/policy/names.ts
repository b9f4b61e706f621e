// Strict patterns for every name that reaches a firewall rule, a sudoers line, a .vv file or a path.
import net from 'node:net';

/** VM and server ids: no escaping needed in sudoers (no `?*,:=\`), safe in file names. */
export const ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** User and group names: the portable POSIX subset (plus `.` for first.last directory accounts). */
export const ACCOUNT_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;
/** Absolute paths without spaces, globs, `..` or anything sudoers or a shell would interpret. */
export const PATH_RE = /^(\/[A-Za-z0-9._+-]+)+$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Free text that ends up as one `key=value` line of a .vv file: printable, no line breaks. */
const TEXT_RE = /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u;

/** Why `value` is not an acceptable id, or null when it is. */
export function checkId(value: string): string | null {
  return ID_RE.test(value) ? null : `must match ${ID_RE.source} (lowercase letters, digits, '_' and '-')`;
}

/** Why `value` is not an acceptable user or group name, or null. */
export function checkAccount(value: string): string | null {
  return ACCOUNT_RE.test(value) ? null : `must match ${ACCOUNT_RE.source}`;
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
