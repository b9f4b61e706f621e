// What the UI knows, in one object; every change goes through render() in list.ts.
import type { Api, ConsoleState, KeyringStatus, ViewSnapshot } from '../electron/contract.js';

declare global {
  interface Window {
    api: Api;
  }
}

/** The preload's window.api: the renderer's only way out. */
export const api: Api = window.api;

/** The UI's state: the view, each console's state, which opens found a console already open, the keyring, the search. */
export interface UiState {
  view: ViewSnapshot | null;
  consoles: Record<string, ConsoleState>;
  alreadyOpen: Set<string>;
  keyring: KeyringStatus | null;
  query: string;
}

/** The one UI state. */
export const ui: UiState = { view: null, consoles: {}, alreadyOpen: new Set(), keyring: null, query: '' };
