// Following the user's view: a new snapshot whenever the file changes or a window opens or closes with the clock.
import { statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { viewPath, type ViewFile } from '../../helper/src/boundary/index.js';
import { loadView, type ViewSnapshot, type ViewSource } from './views.js';

/** Options for watchView; pollMs also catches time windows opening and closing. */
export interface WatchOptions extends ViewSource {
  pollMs?: number;
}

/** Calls onChange with each new snapshot when the file or the availability changes; returns stop(). */
export function watchView(opts: WatchOptions, onChange: (snapshot: ViewSnapshot, view: ViewFile | null) => void): () => void {
  let last = '';
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const check = (): void => {
    // Serialise checks so a slow read never reports an older snapshot after a newer one.
    running = running.then(async () => {
      if (stopped) return;
      const { view, snapshot } = await loadView(opts);
      const key = JSON.stringify(snapshot);
      if (key !== last && !stopped) {
        last = key;
        onChange(snapshot, view);
      }
    });
  };
  // apply replaces the file by rename, so watch the directory, not the file; the poll covers a directory that
  // appears later, filesystems without inotify, and windows opening with the clock. A first apply renames a whole
  // new directory over an empty one: the old one's watch then reports its end, and the watch moves to the new one.
  const dir = path.dirname(viewPath(opts.stateDir, opts.uid));
  const inode = (): number | null => {
    try {
      return statSync(dir).ino;
    } catch {
      return null;
    }
  };
  let watcher: FSWatcher | null = null;
  let watched: number | null = null;
  const unwatch = (): void => {
    watcher?.close();
    watcher = null;
  };
  const tryWatch = (): void => {
    if (watcher && inode() === watched) return;
    unwatch();
    try {
      watched = inode();
      watcher = watch(dir, () => {
        tryWatch();
        check();
      });
      watcher.on('error', unwatch);
    } catch {
      watcher = null;
    }
  };
  tryWatch();
  const timer = setInterval(() => {
    tryWatch();
    check();
  }, opts.pollMs ?? 5000);
  timer.unref();
  check();
  return () => {
    stopped = true;
    clearInterval(timer);
    unwatch();
  };
}
