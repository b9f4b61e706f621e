// Patterns for the names that cross a process boundary: VM ids (IPC, argv, file names), the viewer group, paths.

/** VM and server ids: no escaping needed in sudoers (no `?*,:=\`), safe in file names, at most 63 characters. */
export const ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Local accounts we create ourselves (the viewer group, via groupadd): the portable POSIX subset, plus `.`. */
export const ACCOUNT_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;
/** Absolute paths without spaces, globs or anything sudoers or a shell would interpret (`.`/`..` checked apart). */
export const PATH_RE = /^(\/[A-Za-z0-9._+-]+)+$/;

/** Whether `v` is a VM (or server) id. */
export function isId(v: unknown): v is string {
  return typeof v === 'string' && ID_RE.test(v);
}

/** Whether `v` is an absolute path of safe characters with no `.` or `..` segment. */
export function isSafePath(v: unknown): v is string {
  return typeof v === 'string' && PATH_RE.test(v) && !v.split('/').some((seg) => seg === '.' || seg === '..');
}
