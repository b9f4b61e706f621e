// Default system paths, and where the files that cross a boundary sit inside the state directory.

/** Default locations; CONSOLEGATE_* variables override them for the helper and the launcher (docs/interfaces.md). */
export const DEFAULT_PATHS = {
  policy: '/etc/consolegate/policy.yaml',
  policyDir: '/etc/consolegate/policy.d',
  stateDir: '/var/lib/consolegate',
  sudoersFile: '/etc/sudoers.d/consolegate',
  openConsole: '/usr/libexec/consolegate/open-console',
} as const;

/** The variable that moves the state directory (never read by open-console: sudo's command line says it instead). */
export const STATE_DIR_ENV = 'CONSOLEGATE_STATE_DIR';

/** The console table, for open-console only (root:root 0600). */
export const TABLE_FILE = 'console-table.json';
/** The folder of per-user views. */
export const VIEWS_DIR = 'views';

// The state directory is an absolute path without `.`/`..` (isSafePath), so joining is string work.
const join = (dir: string, ...parts: string[]): string => [dir.replace(/\/+$/, ''), ...parts].join('/');

/** The console table inside a state directory. */
export function tablePath(stateDir: string): string {
  return join(stateDir, TABLE_FILE);
}

/** A user's view inside a state directory. */
export function viewPath(stateDir: string, uid: number): string {
  return join(stateDir, VIEWS_DIR, `${uid}.json`);
}
