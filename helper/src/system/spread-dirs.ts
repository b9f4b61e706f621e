// ext4 without a journal will not reuse an inode freed in the last minute (six while its inode table is not written
// back; fs/ext4/ialloc.c, recently_deleted) and looks each freed one over again for every file it creates in that
// block group: 10,000 views created right after `remove` freed the last 10,000 take ~4.8 s instead of ~0.3 s on this
// kind of machine. A directory flagged as the top of a hierarchy (chattr +T) has its new subdirectories placed by the
// Orlov allocator in a group of its own choosing, and a staged views directory has a random name, so its files
// usually land away from the freed inodes (not always: Orlov favours the emptiest groups, often the ones just freed).
import type { Exec } from './exec.js';

/** Flags `dir` so ext4 spreads its new subdirectories over block groups; quietly nothing on other file systems. */
export async function spreadSubdirs(run: Exec, dir: string): Promise<void> {
  // chattr fails on tmpfs, xfs and the like, or may be missing: the flag is only a placement hint.
  await run(['chattr', '+T', dir]).catch(() => undefined);
}
