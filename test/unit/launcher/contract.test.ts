// The IPC contract: bad arguments and unknown calls are refused before any service runs (senders: ipc.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContractError, INVOKE_KEYS, dispatch, validators, type Handlers } from '../../../electron/contract.js';

test('openConsole accepts exactly { vmId, password?, remember? } with a valid id and a one-line password', () => {
  assert.deepEqual(validators.openConsole([{ vmId: 'debianx' }]), [{ vmId: 'debianx' }]);
  assert.deepEqual(validators.openConsole([{ vmId: 'debianx', password: 'p w', remember: true }]), [{ vmId: 'debianx', password: 'p w', remember: true }]);
  const bad: unknown[][] = [
    [], [{}], [null], ['debianx'], [{ vmId: '../etc' }], [{ vmId: 'Debian' }], [{ vmId: '-x' }], [{ vmId: 'a'.repeat(64) }], [{ vmId: 'a'.repeat(65) }],
    [{ vmId: 'debianx', password: 'a\nb' }], [{ vmId: 'debianx', password: 5 }], [{ vmId: 'debianx', password: 'x'.repeat(1025) }],
    [{ vmId: 'debianx', remember: 'yes', password: 'x' }], [{ vmId: 'debianx', remember: true }],
    [{ vmId: 'debianx', command: ['sh'] }], [{ vmId: 'debianx' }, { extra: 1 }],
  ];
  for (const args of bad) assert.throws(() => validators.openConsole(args), ContractError, JSON.stringify(args));
  // The longest id the helper accepts (63 characters; 64 was let through here once, issue 14).
  assert.deepEqual(validators.openConsole([{ vmId: 'a'.repeat(63) }]), [{ vmId: 'a'.repeat(63) }]);
});

test('calls without arguments refuse arguments; forgetPassword takes one VM id', () => {
  assert.throws(() => validators.getView([1]), ContractError);
  assert.deepEqual(validators.forgetPassword(['leaptest']), ['leaptest']);
  assert.throws(() => validators.forgetPassword(['leaptest', 'x']), ContractError);
  assert.throws(() => validators.forgetPassword(['a b']), ContractError);
});

test('dispatch refuses unknown calls and invalid arguments without calling the handler', async () => {
  let called = 0;
  const handlers = Object.fromEntries(INVOKE_KEYS.map((k) => [k, async () => (called++, 'ran')])) as unknown as Handlers;
  await assert.rejects(dispatch(handlers, 'constructor', []), ContractError);
  await assert.rejects(dispatch(handlers, 'openConsole', [{ vmId: 'NOPE' }]), ContractError);
  assert.equal(called, 0);
  assert.equal(await dispatch(handlers, 'getView', []), 'ran');
});
