// Knowing 10,000 views are untouched without reading them and their ACLs: apply records each view's inode, ctime
// and size right after writing it. Any later write, chmod, chown, ACL change or replacement moves the ctime (or the
// inode), and nobody but root can set a ctime back, so a view whose stat still matches holds what apply wrote.
import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';

/** uid → [inode, ctime in ns, size, content hash] of that view as apply left it. */
export type ViewSeals = Record<string, [string, string, number, string]>;

/** A short hash of a view's content (what the seal says the file held). */
export function viewHash(content: string): string {
  return createHash('sha256').update(content).digest('base64').slice(0, 22);
}

function stamp(file: string): [string, string, number] | null {
  try {
    const st = lstatSync(file, { bigint: true });
    return st.isFile() ? [st.ino.toString(), st.ctimeNs.toString(), Number(st.size)] : null;
  } catch {
    return null;
  }
}

/** Seals for these views as they are on disk now (call right after writing them). */
export function sealViews(views: Map<number, { content: string }>, fileOf: (uid: number) => string): ViewSeals {
  const out: ViewSeals = {};
  for (const [uid, v] of views) {
    const s = stamp(fileOf(uid));
    if (s !== null) out[uid] = [...s, viewHash(v.content)];
  }
  return out;
}

/** True when uid's view is, provably without reading it, exactly what apply wrote and `content` is what it holds. */
export function sealHolds(seals: ViewSeals | undefined, uid: number, file: string, content: string): boolean {
  const seal = seals?.[uid];
  if (seal === undefined) return false;
  const s = stamp(file);
  return s !== null && s[0] === seal[0] && s[1] === seal[1] && s[2] === seal[2] && seal[3] === viewHash(content);
}
