// Work on the views done by a second thread while this one parses and renders (the machine has a second core):
// - a first apply's views are created there while the rest of the plan is rendered (at 100,000 entitlements,
//   creating 10,000 files takes about as long as everything after the views in the plan); nothing is visible until
//   the state step takes the staged directory and commits it;
// - otherwise the views there are, are listed and stamped there while the policy is parsed (10,000 lstat calls
//   the seals need: apply/view-seal.ts).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { messageOf } from '../errors.js';
import { hashViewBytes } from '../plan/digest.js';
import { ITEM_SEPARATOR } from '../plan/json-text.js';
import type { ViewText } from '../plan/views.js';
import { exec } from '../system/exec.js';
import { FileCreator, inViews, listViewNames, newStagingDir, stagedDir, VIEW_SPEC, viewAcl, type StagedViews, type ViewWrite } from './view-files.js';
import { stamp, type Stamp } from './view-seal.js';

// The script a thread runs: the bundle itself, named by bin.ts. Run from the sources (tests importing modules),
// there is none, and views are written on the main thread as before.
let entry: string | null = null;

/** bin.ts names its own script, which serves threads (serveThread) as well as the command line. */
export function setThreadEntry(file: string): void {
  entry = path.resolve(file);
}

// Views go to the thread in batches of this many, so it starts writing while the rest are still rendered.
const SEND_BATCH = 256;
const SEPARATOR_UTF8 = Buffer.from(ITEM_SEPARATOR);
const BODIES_PER_FIRST = 16;

/**
 * What the thread is told: a batch of views (their uids, and their texts as UTF-8 one after another, each ending at
 * `ends[i]`: bytes are transferred, not copied, and written as they are), then that there are no more.
 */
type ToThread = { uids: number[]; ends: number[]; bytes: ArrayBuffer } | { end: true };
/**
 * What the thread answers, once: after the last setfacl, each view's stamp (the views are in a root-only
 * directory, and renaming it changes no file's ctime: these are their seals'), or at the first failure (what it
 * wrote is removed).
 */
type FromThread = { ok: true; stamps: [number, ...Stamp][] } | { ok: false; message: string };

/** What the stamping thread answers: every view file's name in the directory and its stamp (null: not a file). */
type Stamped = { names: string[]; stamps: (Stamp | null)[] } | { failed: string };

/** The thread's workerData: what it is for. */
type ThreadData = { role: 'view-writer'; staging: string } | { role: 'stamps'; dir: string };

/** Views streamed to the writer thread as soon as the plan has them: the state step takes them with `staged`. */
export class EarlyViewDir {
  // File → the view it was sent: the state step's writes must be exactly these.
  private readonly sent = new Map<string, { uid: number; view: ViewText }>();
  // Each piece's UTF-8, and each list of pieces' bytes by its first piece (sendBatch).
  private readonly encoded = new Map<string, Buffer>();
  private readonly bodies = new Map<string, { items: readonly string[]; bytes: Buffer }[]>();
  private sending = false;
  private handedOver = false;
  private readonly answer: Promise<FromThread>;

  constructor(
    private readonly worker: Worker,
    private readonly dir: string,
    private readonly staging: string,
  ) {
    this.answer = new Promise((resolve) => {
      worker.once('message', (m: FromThread) => resolve(m));
      worker.once('error', (err) => resolve({ ok: false, message: messageOf(err) }));
      worker.once('exit', (code) => resolve({ ok: false, message: `the view writer thread exited (${code})` }));
    });
  }

  /** Sends every view (as its bytes) to the thread. Once only: `staged` compares a later plan's views. */
  send(views: Map<number, ViewText>): void {
    if (this.sending) return;
    this.sending = true;
    let batch: number[] = [];
    for (const [uid, v] of views) {
      this.sent.set(inViews(this.dir, `${uid}.json`), { uid, view: v });
      batch.push(uid);
      if (batch.length === SEND_BATCH) {
        this.sendBatch(batch, views);
        batch = [];
      }
    }
    if (batch.length > 0) this.sendBatch(batch, views);
    this.post({ end: true });
  }

  /**
   * The staged directory, when `writes` are exactly the views sent (each root:root 0640 with its user's ACL) and the
   * thread wrote them all; else null, and the directory is gone (the caller writes the views itself).
   */
  async staged(writes: ViewWrite[]): Promise<StagedViews | null> {
    const same =
      this.sending &&
      writes.length === this.sent.size &&
      writes.every((w) => {
        const s = this.sent.get(w.file);
        // The same view object, or the same text: a view's text never changes once built.
        return s !== undefined && (s.view === w.view || s.view.content === w.content) && sameSpec(w) && w.acl.join('\n') === viewAcl(s.uid).join('\n');
      });
    const answer = same ? await this.answer : null;
    if (!answer?.ok) {
      await this.discard();
      return null;
    }
    this.handedOver = true;
    return stagedDir(this.staging, this.dir, new Map(answer.stamps.map(([uid, ...s]) => [uid, s])));
  }

  /** Stops the thread and removes its directory, unless `staged` handed it over. */
  async discard(): Promise<void> {
    if (this.handedOver) return;
    this.handedOver = true;
    // Terminated first: it must not create a file after the directory is removed.
    await this.worker.terminate();
    rmSync(this.staging, { recursive: true, force: true });
  }

  // Built from each view's pieces: 10,000 views share 1,000 entry texts, whose UTF-8 is made once here, and the
  // views of one uid class list the same entries, whose bytes between head and tail are put together once. Building
  // each view's whole string first, then encoding it, cost ~0.3 s at 100,000 entitlements (mostly garbage).
  private sendBatch(uids: number[], views: Map<number, ViewText>): void {
    const batch = uids.map((uid) => {
      const view = views.get(uid)!;
      const p = view.pieces?.() ?? null;
      return { view, p, body: p === null ? null : this.body(p.items) };
    });
    const ends: number[] = [];
    let end = 0;
    for (const { view, p, body } of batch) {
      end += p === null ? Buffer.byteLength(view.content) : Buffer.byteLength(p.head) + body!.length + Buffer.byteLength(p.tail);
      ends.push(end);
    }
    const bytes = new ArrayBuffer(end);
    const buf = Buffer.from(bytes);
    let at = 0;
    for (const { view, p, body } of batch) {
      const start = at;
      if (p === null) at += buf.write(view.content, at);
      else {
        at += buf.write(p.head, at);
        buf.set(body!, at);
        at += body!.length;
        at += buf.write(p.tail, at);
      }
      // The digest's hash of this view, from the bytes at hand (hashing its text would encode it again).
      hashViewBytes(view, buf.subarray(start, at));
    }
    this.worker.postMessage({ uids, ends, bytes } satisfies ToThread, [bytes]);
  }

  /** The UTF-8 of `items` with ITEM_SEPARATOR between them, made once per list of the same texts. */
  private body(items: readonly string[]): Buffer {
    const first = items[0] ?? '';
    const lists = this.bodies.get(first) ?? [];
    // Equal texts are mostly the very same strings (shared entries), so comparing them is cheap.
    const known = lists.find((l) => l.items.length === items.length && l.items.every((it, i) => it === items[i]));
    if (known) return known.bytes;
    const parts: Buffer[] = [];
    items.forEach((it, i) => {
      if (i > 0) parts.push(SEPARATOR_UTF8);
      parts.push(this.utf8(it));
    });
    const bytes = Buffer.concat(parts);
    // A few lists per first entry: views that share a first VM but little else must not make each lookup long.
    if (lists.length < BODIES_PER_FIRST) this.bodies.set(first, [...lists, { items, bytes }]);
    return bytes;
  }

  private utf8(piece: string): Buffer {
    let b = this.encoded.get(piece);
    if (b === undefined) this.encoded.set(piece, (b = Buffer.from(piece)));
    return b;
  }

  private post(m: ToThread): void {
    this.worker.postMessage(m);
  }
}

function sameSpec(w: ViewWrite): boolean {
  return w.spec.mode === VIEW_SPEC.mode && w.spec.uid === VIEW_SPEC.uid && w.spec.gid === VIEW_SPEC.gid;
}

/**
 * Starts the writer thread for a first apply's views into `dir`, which must be missing or empty; call under the
 * apply lock, after removing stale temps. Null when no thread can run (not started from the bundle).
 */
export function startViewDir(dir: string): EarlyViewDir | null {
  if (entry === null) return null;
  const staging = newStagingDir(dir);
  try {
    const data: ThreadData = { role: 'view-writer', staging };
    return new EarlyViewDir(new Worker(entry, { workerData: data }), dir, staging);
  } catch {
    rmSync(staging, { recursive: true, force: true });
    return null;
  }
}

/** The view files in a directory, listed and stamped by a thread (viewsOnDisk). */
export interface ViewsOnDisk {
  /** Every view file's path (inViews spelling), as listViews would list them. */
  files: string[];
  /** The stamp of each that is a regular file. */
  stamps: Map<string, Stamp>;
}

/** The answer of a stamping thread, if it has come (viewsOnDisk). */
export interface Stamping {
  /**
   * The view files and stamps if the thread has answered by now (after one turn of the event loop, so that an
   * answer already sent is received), else null (and the thread is stopped). The same answer on every call.
   */
  take(): Promise<ViewsOnDisk | null>;
  /** Settles once the thread has answered or ended. */
  settled: Promise<void>;
}

/**
 * Lists and stamps the view files in `dir` on a thread, while the caller parses and renders; `take` never waits for
 * it (with a small policy all that is over before the thread has started), so whoever finds null lists and stamps
 * them itself. Take it where the stamps are needed, not before: the later, the likelier the answer is there.
 */
export function viewsOnDisk(dir: string): Stamping {
  let answer: ViewsOnDisk | null = null;
  let worker: Worker | null = null;
  let settle = () => {};
  const settled = new Promise<void>((resolve) => (settle = resolve));
  if (entry !== null) {
    try {
      const data: ThreadData = { role: 'stamps', dir };
      worker = new Worker(entry, { workerData: data });
      worker.once('exit', settle);
      worker.once('message', (m: Stamped) => {
        if (!('failed' in m)) {
          const files = m.names.map((n) => inViews(dir, n));
          const stamps = new Map<string, Stamp>();
          m.stamps.forEach((s, i) => s && stamps.set(files[i]!, s));
          answer = { files, stamps };
        }
        settle();
      });
      worker.once('error', () => undefined);
    } catch {
      worker = null;
    }
  }
  if (worker === null) settle();
  let taken: Promise<ViewsOnDisk | null> | undefined;
  return {
    settled,
    take: () =>
      (taken ??= nextTurn().then(() => {
        if (answer === null) void worker?.terminate();
        return answer;
      })),
  };
}

/** The thread's side: bin.ts calls it when not on the main thread. */
export function serveThread(): void {
  const data = workerData as ThreadData;
  if (data.role === 'stamps') stampViews(data.dir);
  else writeViews(data.staging);
}

function stampViews(dir: string): void {
  let answer: Stamped;
  try {
    const names = listViewNames(dir);
    answer = { names, stamps: names.map((n) => stamp(inViews(dir, n))) };
  } catch (err) {
    answer = { failed: messageOf(err) };
  }
  parentPort!.postMessage(answer);
}

/**
 * Creates the views it is sent in `staging`, answers once. One batch per turn of the event loop: each setfacl is
 * fed its input, and its files are stamped once it has ended, while the next batches are written (handled back to
 * back, every setfacl waited for its input until the last file was written).
 */
function writeViews(staging: string): void {
  const port = parentPort!;
  const stamps = new Map<string, Stamp | null>();
  const creator = new FileCreator(exec, (files) => files.forEach((f) => stamps.set(f.path, stamp(f.path))));
  const uids: number[] = [];
  const queue: ToThread[] = [];
  let pumping = false;
  let done = false;
  const finish = async (failure: unknown) => {
    if (done) return;
    done = true;
    let answer: FromThread;
    try {
      if (failure !== null) throw failure;
      await creator.finish();
      answer = {
        ok: true,
        stamps: uids.map((uid): [number, ...Stamp] => {
          const file = inViews(staging, `${uid}.json`);
          const s = stamps.get(file) ?? stamp(file);
          if (s === null) throw new Error(`${uid}.json: gone from ${staging}`);
          return [uid, ...s];
        }),
      };
    } catch (err) {
      await creator.abort();
      answer = { ok: false, message: messageOf(err) };
    }
    port.postMessage(answer);
    port.close();
  };
  const handle = (m: ToThread) => {
    if ('end' in m) return void finish(null);
    try {
      uids.push(...m.uids);
      const bytes = new Uint8Array(m.bytes);
      creator.add(m.uids.map((uid, i) => ({ path: inViews(staging, `${uid}.json`), content: bytes.subarray(i === 0 ? 0 : m.ends[i - 1], m.ends[i]), spec: VIEW_SPEC, acl: viewAcl(uid) })));
    } catch (err) {
      void finish(err);
    }
  };
  const pump = async () => {
    pumping = true;
    for (let m = queue.shift(); m !== undefined && !done; m = queue.shift()) {
      handle(m);
      await nextTurn();
    }
    pumping = false;
  };
  port.on('message', (m: ToThread) => {
    if (done) return;
    queue.push(m);
    if (!pumping) void pump();
  });
}
