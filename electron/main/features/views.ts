// The VM list: answers getView and pushes viewChanged whenever the file or an availability changes.
import { watchView } from '../../services/view-watch.js';
import { loadView, type ViewSource } from '../../services/views.js';
import type { Feature } from './feature.js';

/** Serves the logged-in user's view and follows changes without a restart. */
export function viewsFeature(src: ViewSource & { pollMs?: number }): Feature<'getView'> {
  let stop: (() => void) | null = null;
  return {
    handlers: {
      getView: async () => (await loadView(src)).snapshot,
    },
    start(push) {
      stop = watchView(src, (snapshot) => push('viewChanged', snapshot));
    },
    stop() {
      stop?.();
    },
  };
}
