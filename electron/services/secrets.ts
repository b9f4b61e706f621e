// Console passwords in the desktop keyring (keytar; service "consolegate", account = VM id).
// Plain Node, no Electron. Never throws: a missing or locked keyring means "ask every time", with a note saying so.
import { createRequire } from 'node:module';

/** keytar's service name for every consolegate secret. */
export const SERVICE = 'consolegate';

/** The part of keytar we use; tests pass a fake with the same shape. */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<Array<{ account: string; password: string }>>;
}

/** Whether passwords can be remembered here; `note` is shown to the user when not. */
export interface KeyringStatus {
  available: boolean;
  note: string | null;
  remembered: string[];
}

/** The launcher's view of the keyring. */
export interface SecretStore {
  status(): Promise<KeyringStatus>;
  get(vmId: string): Promise<string | null>;
  remember(vmId: string, password: string): Promise<KeyringStatus>;
  forget(vmId: string): Promise<KeyringStatus>;
}

/** Shown whenever the keyring cannot be used; plain words for the person at the desk. */
export const UNAVAILABLE_NOTE =
  'Passwords cannot be remembered on this computer right now (the keyring is missing or locked), so you will be asked each time.';

// A locked keyring can wait forever for an unlock prompt nobody sees; give up and degrade instead.
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`keyring did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    );
  });
}

// keytar is a native module that may fail to load (no libsecret, wrong ABI); that is "no keyring", not a crash.
function loadKeytar(): KeytarLike {
  const require = createRequire(import.meta.url);
  return require('keytar') as KeytarLike;
}

/** Options: the keytar implementation (real one by default) and how long to wait for the keyring. */
export interface SecretStoreOptions {
  keytar?: () => KeytarLike;
  timeoutMs?: number;
}

/** Creates the store; the keyring is first touched on the first call, not here. */
export function createSecretStore(opts: SecretStoreOptions = {}): SecretStore {
  const ms = opts.timeoutMs ?? 5000;
  let kt: KeytarLike | null = null;
  const keytar = (): KeytarLike => (kt ??= (opts.keytar ?? loadKeytar)());
  const status = async (): Promise<KeyringStatus> => {
    try {
      const creds = await withTimeout(keytar().findCredentials(SERVICE), ms);
      return { available: true, note: null, remembered: creds.map((c) => c.account).sort() };
    } catch {
      return { available: false, note: UNAVAILABLE_NOTE, remembered: [] };
    }
  };

  return {
    status,
    async get(vmId) {
      try {
        return await withTimeout(keytar().getPassword(SERVICE, vmId), ms);
      } catch {
        return null;
      }
    },
    async remember(vmId, password) {
      try {
        await withTimeout(keytar().setPassword(SERVICE, vmId, password), ms);
      } catch {
        return { available: false, note: UNAVAILABLE_NOTE, remembered: [] };
      }
      return status();
    },
    async forget(vmId) {
      try {
        await withTimeout(keytar().deletePassword(SERVICE, vmId), ms);
      } catch {
        return { available: false, note: UNAVAILABLE_NOTE, remembered: [] };
      }
      return status();
    },
  };
}
