// Preload: exposes window.api, built mechanically from the contract. No logic, no Node access for the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_KEYS, INVOKE_KEYS, channel, type Api, type EventKey, type EventMap } from './contract.js';

const api: Record<string, unknown> = {};
for (const key of INVOKE_KEYS) api[key] = (...args: unknown[]) => ipcRenderer.invoke(channel(key), ...args);
api.on = <E extends EventKey>(event: E, listener: (payload: EventMap[E]) => void): (() => void) => {
  if (!EVENT_KEYS.includes(event)) throw new Error(`Unknown event \`${String(event)}\``);
  // The IpcRendererEvent stays here: handing it to the page would leak ipcRenderer itself.
  const wrapped = (_e: IpcRendererEvent, payload: EventMap[E]): void => listener(payload);
  ipcRenderer.on(channel(event), wrapped);
  return () => void ipcRenderer.removeListener(channel(event), wrapped);
};

contextBridge.exposeInMainWorld('api', api as Api);
