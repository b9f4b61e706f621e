// Knowing 10,000 views are untouched without reading them and their ACLs: apply records each view's inode, ctime
// and size right after writing it. Any later write, chmod, chown, ACL change or replacement moves the ctime (or the
// inode), and nobody but root can set a ctime back, so a view whose stat still matches holds what apply wrote.
import { lstatSync } from 'node:fs';

/** uid → [inode, ctime in ns, size, content hash] of that view as apply left it. */
export type ViewSeals = Record<string, [string, string, number, string]>;

/** A file's inode, ctime in ns and size. */
export type Stamp = [string, string, number];

/** The stamp of a regular file, or null (missing, or not a regular file). */
export function stamp(file: string): Stamp | null {
  try {
    const st = lstatSync(file, { bigint: true });
    return st.isFile() ? [st.ino.toString(), st.ctimeNs.toString(), Number(st.size)] : null;
  } catch {
    return null;
  }
}

/**
 * Seals for these views as they are on disk now (call right after writing them); `hashes`: their viewHash by uid.
 * `stamps`: those already taken by whoever wrote them, after the last change (view-thread.ts).
 */
export function sealViews(views: Map<number, unknown>, hashes: Record<string, string>, fileOf: (uid: number) => string, stamps?: Map<number, Stamp>): ViewSeals {
  const out: ViewSeals = {};
  for (const uid of views.keys()) {
    const s = stamps?.get(uid) ?? stamp(fileOf(uid));
    const hash = hashes[uid];
    if (s !== null && hash !== undefined) out[uid] = [...s, hash];
  }
  return out;
}

/**
 * True when uid's view is, provably without reading it, exactly what apply wrote, and that was `hash` (viewHash).
 * `stamps`: the views' stamps taken earlier in this run (view-thread.ts viewsOnDisk); a file not among them is absent.
 */
export function sealHolds(seals: ViewSeals | undefined, uid: number, file: string, hash: string, stamps?: Map<string, Stamp>): boolean {
  const seal = seals?.[uid];
  if (seal === undefined) return false;
  const s = stamps ? (stamps.get(file) ?? null) : stamp(file);
  return s !== null && s[0] === seal[0] && s[1] === seal[1] && s[2] === seal[2] && seal[3] === hash;
}
