// The one IPC contract between the renderer and main: channels, argument/result types, runtime validators.
// preload builds window.api from it, main validates every call against it, the renderer imports its types.
// No Electron and no Node imports here: the preload bundle (sandboxed) includes this file.
import { ID_RE, isId } from '../helper/src/boundary/index.js';
import type { ConsoleState } from './services/console-text.js';
import type { DiagnosticsReport } from './services/diagnostics.js';
import type { KeyringStatus } from './services/secrets.js';
import type { ViewSnapshot } from './services/views.js';

export type { ConsoleState, DiagnosticsReport, KeyringStatus, ViewSnapshot };
export type { FailureReason } from './services/console-text.js';
export type { Availability, VmEntry } from './services/availability.js';
export type { Check, CheckStatus } from './services/diagnostics.js';

/** Open a console; password/remember only after the launcher asked for them. */
export interface OpenRequest {
  vmId: string;
  password?: string;
  remember?: boolean;
}

/** Either the launcher must ask for a password first, or the console's state (possibly of an already-open one). */
export type OpenResult =
  | { kind: 'needs-password'; keyring: KeyringStatus }
  | { kind: 'state'; state: ConsoleState; alreadyOpen: boolean };

/** A console changed state. */
export interface ConsoleEvent {
  vmId: string;
  state: ConsoleState;
}

/** Renderer → main calls: arguments and results. */
export interface InvokeMap {
  getView: { args: []; result: ViewSnapshot };
  openConsole: { args: [OpenRequest]; result: OpenResult };
  consoleStates: { args: []; result: Record<string, ConsoleState> };
  keyringStatus: { args: []; result: KeyringStatus };
  forgetPassword: { args: [vmId: string]; result: KeyringStatus };
  runDiagnostics: { args: []; result: DiagnosticsReport };
}

/** Main → renderer events and their payloads. */
export interface EventMap {
  viewChanged: ViewSnapshot;
  consoleState: ConsoleEvent;
  keyringChanged: KeyringStatus;
}

/** Name of a call. */
export type InvokeKey = keyof InvokeMap;
/** Name of an event. */
export type EventKey = keyof EventMap;

/** What main implements for each call (and the UI tests' shim reuses). */
export type Handlers = { [K in InvokeKey]: (...args: InvokeMap[K]['args']) => Promise<InvokeMap[K]['result']> };

/** window.api as the renderer sees it. */
export type Api = Handlers & {
  on<E extends EventKey>(event: E, listener: (payload: EventMap[E]) => void): () => void;
};

/** A call that breaks the contract; main refuses it before any service runs. */
export class ContractError extends Error {
  override name = 'ContractError';
}

/** IPC channel of a call or event; prefixed so nothing else on the bus can collide. */
export function channel(key: InvokeKey | EventKey): string {
  return `consolegate:${key}`;
}

/** Checks a VM id against the boundary's pattern, the one the helper enforces. */
export function validVmId(v: unknown): string {
  if (!isId(v)) throw new ContractError(`Expected a VM id matching ${ID_RE}, got \`${String(v).slice(0, 80)}\``);
  return v;
}

function noArgs(args: unknown[]): [] {
  if (args.length !== 0) throw new ContractError(`Expected no arguments, got ${args.length}`);
  return [];
}

function oneArg(args: unknown[]): unknown {
  if (args.length !== 1) throw new ContractError(`Expected exactly one argument, got ${args.length}`);
  return args[0];
}

function openRequest(v: unknown): OpenRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ContractError('Expected an object { vmId, password?, remember? }');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'vmId' && k !== 'password' && k !== 'remember');
  if (extra.length > 0) throw new ContractError(`Unexpected field(s): ${extra.join(', ')}`);
  const req: OpenRequest = { vmId: validVmId(o.vmId) };
  if (o.password !== undefined) {
    // open-console reads exactly one line, so a newline would cut the password short (or smuggle a second line).
    if (typeof o.password !== 'string' || o.password.length > 1024 || /[\r\n\0]/.test(o.password)) {
      throw new ContractError('Expected `password` to be one line of at most 1024 characters');
    }
    req.password = o.password;
  }
  if (o.remember !== undefined) {
    if (typeof o.remember !== 'boolean') throw new ContractError(`Expected \`remember\` to be a boolean, got \`${typeof o.remember}\``);
    if (o.password === undefined && o.remember) throw new ContractError('`remember` needs a `password`');
    req.remember = o.remember;
  }
  return req;
}

/** Runtime validators for every call's arguments; they return the typed arguments or throw ContractError. */
export const validators: { [K in InvokeKey]: (args: unknown[]) => InvokeMap[K]['args'] } = {
  getView: noArgs,
  openConsole: (args) => [openRequest(oneArg(args))],
  consoleStates: noArgs,
  keyringStatus: noArgs,
  forgetPassword: (args) => [validVmId(oneArg(args))],
  runDiagnostics: noArgs,
};

/** Every call, in a fixed order (preload and the UI shim build window.api from this). */
export const INVOKE_KEYS = Object.keys(validators) as InvokeKey[];
// Keyed by EventMap, so an event added to the map without a line here (or the reverse) does not compile.
const EVENTS: { [E in EventKey]: true } = { viewChanged: true, consoleState: true, keyringChanged: true };
/** Every event. */
export const EVENT_KEYS = Object.keys(EVENTS) as readonly EventKey[];

/** Validates a call by name and runs the matching handler; the single entry point for untrusted calls. */
export async function dispatch(handlers: Handlers, key: unknown, args: unknown[]): Promise<unknown> {
  if (typeof key !== 'string' || !(INVOKE_KEYS as string[]).includes(key)) throw new ContractError(`Unknown call \`${String(key)}\``);
  const k = key as InvokeKey;
  const valid = validators[k](args);
  return (handlers[k] as (...a: unknown[]) => Promise<unknown>)(...valid);
}
