// Knowing 10,000 views are untouched without reading them and their ACLs: apply records each view's inode, ctime
// and size right after writing it. Any later write, chmod, chown, ACL change or replacement moves the ctime (or the
// inode), and nobody but root can set a ctime back, so a view whose stat still matches holds what apply wrote.
import { lstatSync } from 'node:fs';

/** uid → [inode, ctime in ns, size, content hash] of that view as apply left it. */
export type ViewSeals = Record<string, [string, string, number, string]>;

function stamp(file: string): [string, string, number] | null {
  try {
    const st = lstatSync(file, { bigint: true });
    return st.isFile() ? [st.ino.toString(), st.ctimeNs.toString(), Number(st.size)] : null;
  } catch {
    return null;
  }
}

/** Seals for these views as they are on disk now (call right after writing them); `hashes`: their viewHash by uid. */
export function sealViews(views: Map<number, unknown>, hashes: Record<string, string>, fileOf: (uid: number) => string): ViewSeals {
  const out: ViewSeals = {};
  for (const uid of views.keys()) {
    const s = stamp(fileOf(uid));
    const hash = hashes[uid];
    if (s !== null && hash !== undefined) out[uid] = [...s, hash];
  }
  return out;
}

/** True when uid's view is, provably without reading it, exactly what apply wrote, and that was `hash` (viewHash). */
export function sealHolds(seals: ViewSeals | undefined, uid: number, file: string, hash: string): boolean {
  const seal = seals?.[uid];
  if (seal === undefined) return false;
  const s = stamp(file);
  return s !== null && s[0] === seal[0] && s[1] === seal[1] && s[2] === seal[2] && seal[3] === hash;
}
