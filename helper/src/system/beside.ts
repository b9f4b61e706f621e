// Files shipped beside the helper's bundle (dist/ in a build, /usr/lib/consolegate when packaged).
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * `name` beside the running helper bundle, or null. Whatever root runs from there must be root's alone: a regular
 * file owned by root that nobody else may write, in a directory nobody else may write; anything else is ignored.
 */
export function besideHelper(name: string): string | null {
  const script = process.argv[1];
  if (!script) return null;
  try {
    // `npx consolegate-helper` runs it through node_modules/.bin's symlink.
    const file = path.join(path.dirname(realpathSync(script)), name);
    const [f, d] = [statSync(file), statSync(path.dirname(file))];
    if (f.isFile() && f.uid === 0 && (f.mode & 0o022) === 0 && d.uid === 0 && (d.mode & 0o022) === 0) return file;
  } catch {
    // absent
  }
  return null;
}
