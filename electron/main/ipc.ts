// The one way into main from the renderer: every call is checked for its sender, then goes through the contract's
// dispatch (the same function the UI tests call), which checks the arguments before any handler runs.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { ContractError, INVOKE_KEYS, channel, dispatch, type Handlers } from '../contract.js';

/** The Electron side the handlers are wired to; fakes in unit tests. */
export interface IpcBoundary {
  ipcMain: Pick<IpcMain, 'handle'>;
  isTrustedSender(event: IpcMainInvokeEvent): boolean;
}

/** The part of Electron's BrowserWindow class the sender check needs. */
export interface WindowLookup {
  fromWebContents(contents: WebContents): BrowserWindow | null;
}

/** Trusts only the top frame of our own window; another window, a subframe, or a call before the window exists is refused. */
export function ourWindowOnly(windows: WindowLookup, current: () => BrowserWindow | null): (event: IpcMainInvokeEvent) => boolean {
  return (event) => {
    const win = current();
    return win !== null && windows.fromWebContents(event.sender) === win && event.senderFrame === event.sender.mainFrame;
  };
}

/** Registers a handler for every call in the contract; each one checks the sender, then dispatches. */
export function registerHandlers(ipc: IpcBoundary, handlers: Handlers): void {
  for (const key of INVOKE_KEYS) {
    ipc.ipcMain.handle(channel(key), async (event, ...args: unknown[]) => {
      if (!ipc.isTrustedSender(event)) throw new ContractError(`Refused \`${key}\` from a sender that is not the launcher window`);
      return dispatch(handlers, key, args);
    });
  }
}
