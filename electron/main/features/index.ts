// All features, built from the same services for Electron's main and for the UI tests' stand-in for it.
import type { Handlers } from '../../contract.js';
import type { openConsole } from '../../services/console.js';
import type { SecretStore } from '../../services/secrets.js';
import type { ViewSource } from '../../services/views.js';
import { consoleFeature } from './console.js';
import { diagnosticsFeature } from './diagnostics.js';
import type { Push } from './feature.js';
import { secretsFeature } from './secrets.js';
import { viewsFeature } from './views.js';

/** Everything the features need; `open` and `viewerPath` are for tests. */
export interface FeatureDeps {
  source: ViewSource & { pollMs?: number };
  secrets: SecretStore;
  open?: typeof openConsole;
  viewerPath?: string;
}

/** Builds every feature once; `handlers` is typed as the full contract, so a call without a handler does not compile. */
export function createFeatures(deps: FeatureDeps) {
  const views = viewsFeature(deps.source);
  const consoles = consoleFeature({ source: deps.source, secrets: deps.secrets, open: deps.open });
  const keyring = secretsFeature({ secrets: deps.secrets });
  const diagnostics = diagnosticsFeature({ ...deps.source, viewerPath: deps.viewerPath });
  const handlers: Handlers = { ...views.handlers, ...consoles.handlers, ...keyring.handlers, ...diagnostics.handlers };
  const all = [views, consoles, keyring, diagnostics];
  return {
    views,
    consoles,
    keyring,
    diagnostics,
    handlers,
    start: (push: Push) => all.forEach((f) => f.start?.(push)),
    stop: () => all.forEach((f) => f.stop?.()),
  };
}
