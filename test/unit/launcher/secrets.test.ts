// The secret store over keytar: remember/forget per VM, and degrading to "ask every time" when the keyring fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE, UNAVAILABLE_NOTE, createSecretStore, type KeytarLike } from '../../../electron/services/secrets.js';

// An in-memory keytar, keyed like the real one by service and account.
function memoryKeytar(): KeytarLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getPassword: async (s, a) => data.get(`${s}/${a}`) ?? null,
    setPassword: async (s, a, p) => void data.set(`${s}/${a}`, p),
    deletePassword: async (s, a) => data.delete(`${s}/${a}`),
    findCredentials: async (s) => [...data].filter(([k]) => k.startsWith(`${s}/`)).map(([k, password]) => ({ account: k.slice(s.length + 1), password })),
  };
}

test('remember stores under service "consolegate", account = VM id; forget removes it', async () => {
  const kt = memoryKeytar();
  const store = createSecretStore({ keytar: () => kt });
  const after = await store.remember('debianx', 's3cret');
  assert.deepEqual(kt.data.get(`${SERVICE}/debianx`), 's3cret');
  assert.deepEqual(after, { available: true, note: null, remembered: ['debianx'] });
  assert.equal(await store.get('debianx'), 's3cret');
  assert.deepEqual((await store.forget('debianx')).remembered, []);
  assert.equal(await store.get('debianx'), null);
});

test('a keyring that cannot be loaded or reached degrades to asking, with a note', async () => {
  const store = createSecretStore({ keytar: () => { throw new Error('libsecret-1.so.0: cannot open shared object file'); } });
  assert.deepEqual(await store.status(), { available: false, note: UNAVAILABLE_NOTE, remembered: [] });
  assert.equal(await store.get('debianx'), null);
  assert.equal((await store.remember('debianx', 'x')).available, false);
});

test('a locked keyring that never answers is given up on after the timeout', async () => {
  const never = new Promise<never>(() => {});
  const kt: KeytarLike = { getPassword: () => never, setPassword: () => never, deletePassword: () => never, findCredentials: () => never };
  const store = createSecretStore({ keytar: () => kt, timeoutMs: 50 });
  const t0 = Date.now();
  assert.equal(await store.get('debianx'), null);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal((await store.status()).available, false);
});
