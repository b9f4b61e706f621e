// What every feature looks like. Features never see IPC: main registers their handlers through electron/main/ipc.ts.
import type { EventKey, EventMap, Handlers, InvokeKey } from '../../contract.js';

/** Sends an event to our window. */
export type Push = <E extends EventKey>(event: E, payload: EventMap[E]) => void;

/** A feature: handlers for some calls, plus optional background work that pushes events. Electron-free. */
export interface Feature<K extends InvokeKey = InvokeKey> {
  handlers: Pick<Handlers, K>;
  start?(push: Push): void;
  stop?(): void;
}
