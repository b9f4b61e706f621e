// The diagnostics panel: runs the user-level checks on request.
import { runDiagnostics, type DiagnosticsDeps } from '../../services/diagnostics.js';
import type { Feature } from './feature.js';

/** Runs diagnostics for the logged-in user. */
export function diagnosticsFeature(deps: DiagnosticsDeps): Feature<'runDiagnostics'> {
  return {
    handlers: {
      runDiagnostics: () => runDiagnostics(deps),
    },
  };
}
