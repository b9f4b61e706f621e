// Open console: looks the VM up in the user's own view (never trusts the renderer for a command), fills in a
// remembered password, refuses to start a second viewer for a VM that is already open, and pushes every state change.
import { openConsole, type ConsoleSession } from '../../services/console.js';
import { explain, type ConsoleState } from '../../services/console-text.js';
import type { SecretStore } from '../../services/secrets.js';
import { loadView, type ViewSource } from '../../services/views.js';
import type { OpenResult } from '../../contract.js';
import type { Feature, Push } from './feature.js';

/** What the console feature needs; `open` is the console service (a fake in unit tests). */
export interface ConsoleFeatureDeps {
  source: ViewSource;
  secrets: SecretStore;
  open?: typeof openConsole;
}

const live = (s: ConsoleState): boolean => s.state === 'launching' || s.state === 'connected';

/** Starts consoles and tracks one session per VM. Sessions are never stopped on quit: viewers outlive the launcher. */
export function consoleFeature(deps: ConsoleFeatureDeps): Feature<'openConsole' | 'consoleStates'> {
  const open = deps.open ?? openConsole;
  const states = new Map<string, ConsoleState>();
  const sessions = new Map<string, ConsoleSession>();
  // Set while an open is between "clicked" and "spawned", so a double click cannot start two viewers.
  const starting = new Set<string>();
  let push: Push = () => {};

  const set = (vmId: string, state: ConsoleState): void => {
    states.set(vmId, state);
    push('consoleState', { vmId, state });
  };

  return {
    handlers: {
      async openConsole(req): Promise<OpenResult> {
        const current = states.get(req.vmId);
        if (starting.has(req.vmId) || (current && live(current))) {
          return { kind: 'state', state: current ?? { state: 'launching' }, alreadyOpen: true };
        }
        starting.add(req.vmId);
        try {
          const { view, snapshot } = await loadView(deps.source);
          const vm = view?.vms.find((v) => v.id === req.vmId);
          if (!vm) {
            const state = explain(snapshot.status === 'no-policy' ? 'no-policy' : 'not-entitled');
            set(req.vmId, state);
            return { kind: 'state', state, alreadyOpen: false };
          }
          let password = req.password;
          const fromKeyring = password === undefined;
          if (password === undefined) {
            const stored = await deps.secrets.get(vm.id);
            if (stored === null) return { kind: 'needs-password', keyring: await deps.secrets.status() };
            password = stored;
          }
          const pw = password;
          const session = open(
            { id: vm.id, command: vm.command, host: vm.host, tlsPort: vm.tlsPort },
            {
              password: pw,
              onState: (state) => {
                set(vm.id, state);
                // Remember only a password that worked, so a typo is never saved. An empty one is not a secret
                // (and the Secret Service refuses empty secrets), so there is nothing to keep.
                if (state.state === 'connected' && req.remember && !fromKeyring && pw !== '') {
                  void deps.secrets.remember(vm.id, pw).then((k) => push('keyringChanged', k));
                }
                // A remembered password that is now wrong would fail every time: drop it so the next open asks.
                if (state.state === 'failed' && state.reason === 'wrong-password' && fromKeyring) {
                  void deps.secrets.forget(vm.id).then((k) => push('keyringChanged', k));
                }
              },
            },
          );
          sessions.set(vm.id, session);
          void session.done.then(() => sessions.delete(vm.id));
          return { kind: 'state', state: states.get(vm.id) ?? { state: 'launching' }, alreadyOpen: false };
        } finally {
          starting.delete(req.vmId);
        }
      },
      consoleStates: async () => Object.fromEntries(states),
    },
    start(p) {
      push = p;
    },
  };
}
