// Following the user's view: a new snapshot whenever the file changes or a window opens or closes with the clock.
import { watch, type FSWatcher } from 'node:fs';
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
  // appears later, filesystems without inotify, and windows opening with the clock.
  let watcher: FSWatcher | null = null;
  const tryWatch = (): void => {
    if (watcher) return;
    try {
      watcher = watch(path.dirname(viewPath(opts.stateDir, opts.uid)), () => check());
      watcher.on('error', () => {
        watcher?.close();
        watcher = null;
      });
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
    watcher?.close();
  };
}
