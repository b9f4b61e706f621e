// The logged-in user's view (<stateDir>/views/<uid>.json): read once and validated against the boundary contract,
// turned into what the UI shows. Plain Node, no Electron: the main process and the UI tests use this same module.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_PATHS, STATE_DIR_ENV, parseView, viewPath, type ViewFile } from '../../helper/src/boundary/index.js';
import { toEntries, type VmEntry } from './availability.js';

/** What the launcher knows about the view right now; the status explains an empty list. */
export type ViewSnapshot =
  | { status: 'ok'; user: string; vms: VmEntry[] }
  | { status: 'no-policy'; path: string }
  | { status: 'no-vms'; path: string; user: string | null }
  | { status: 'unreadable'; path: string; message: string };

/** Resolves the state directory from the environment, as the helper does. */
export function stateDirFrom(env: NodeJS.ProcessEnv): string {
  const v = env[STATE_DIR_ENV];
  return v !== undefined && v !== '' ? path.resolve(v) : DEFAULT_PATHS.stateDir;
}

/** Where to look and what time it is; both injectable so tests control them. */
export interface ViewSource {
  stateDir: string;
  uid: number;
  now?: () => Date;
}

/** Reads the view once: the validated file (for main's own use) and the snapshot the UI shows. Never throws. */
export async function loadView(src: ViewSource): Promise<{ view: ViewFile | null; snapshot: ViewSnapshot }> {
  const file = viewPath(src.stateDir, src.uid);
  const now = (src.now ?? (() => new Date()))();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      return { view: null, snapshot: { status: 'unreadable', path: file, message: (err as Error).message } };
    }
    // No views directory at all: apply has never run here. A views directory without our file: nothing for us.
    const applied = await stat(path.dirname(file)).then((s) => s.isDirectory(), () => false);
    return { view: null, snapshot: applied ? { status: 'no-vms', path: file, user: null } : { status: 'no-policy', path: file } };
  }
  try {
    const view = parseView(JSON.parse(text));
    if (view.vms.length === 0) return { view, snapshot: { status: 'no-vms', path: file, user: view.user } };
    return { view, snapshot: { status: 'ok', user: view.user, vms: toEntries(view, now) } };
  } catch (err) {
    return { view: null, snapshot: { status: 'unreadable', path: file, message: (err as Error).message } };
  }
}
