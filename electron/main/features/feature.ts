// What every feature looks like, and the one place IPC calls are checked (sender, then arguments) before a handler runs.
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { ContractError, channel, validators, type EventKey, type EventMap, type Handlers, type InvokeKey } from '../../contract.js';

/** Sends an event to our window. */
export type Push = <E extends EventKey>(event: E, payload: EventMap[E]) => void;

/** A feature: handlers for some calls, plus optional background work that pushes events. Electron-free. */
export interface Feature<K extends InvokeKey = InvokeKey> {
  handlers: Pick<Handlers, K>;
  start?(push: Push): void;
  stop?(): void;
}

/** The Electron side a feature is wired to; a fake in unit tests. */
export interface IpcBoundary {
  ipcMain: Pick<IpcMain, 'handle'>;
  isTrustedSender(event: IpcMainInvokeEvent): boolean;
}

/** Registers a feature's handlers: calls from anything but our window, or with bad arguments, are refused. */
export function setupFeature<K extends InvokeKey>(ipc: IpcBoundary, feature: Feature<K>, push: Push): void {
  for (const key of Object.keys(feature.handlers) as K[]) {
    const handler = feature.handlers[key] as (...a: unknown[]) => Promise<unknown>;
    ipc.ipcMain.handle(channel(key), async (event, ...args: unknown[]) => {
      if (!ipc.isTrustedSender(event)) throw new ContractError(`Refused \`${key}\` from a sender that is not the launcher window`);
      return handler(...validators[key](args));
    });
  }
  feature.start?.(push);
}
