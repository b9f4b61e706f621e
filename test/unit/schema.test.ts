// The published JSON Schema agrees with the loader on the example and on obvious mistakes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const schema = JSON.parse(readFileSync(new URL('../../helper/schema/policy.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv2020({ allErrors: true }).compile(schema);

test('the example policy matches the schema', () => {
  const example = parse(readFileSync(new URL('../../helper/examples/policy.example.yaml', import.meta.url), 'utf8'));
  assert.equal(validate(example), true, JSON.stringify(validate.errors));
});
test('the schema accepts names as a directory spells them (issue 12)', () => {
  const names = ['alice@corp.example.com', 'Domain Users', 'CORP\\alice', 'host$', 'BOB'];
  assert.equal(validate({ entitlements: [{ vm: 'vm1', users: names, groups: names }] }), true, JSON.stringify(validate.errors));
});
test('the schema rejects what the loader rejects', () => {
  for (const bad of [
    { version: 2 },
    { vms: { 'VM 1': { server: 's', 'tls-port': 1 } } },
    { vms: { vm1: { server: 's', 'tls-port': 70000 } } },
    { entitlements: [{ vm: 'vm1', users: ['alice\nroot ALL=(ALL) ALL'] }] },
    { entitlements: [{ vm: 'vm1', users: ['1001'] }] },
    { entitlements: [{ vm: 'vm1', groups: ['al:ice'] }] },
    { entitlements: [{ vm: 'vm1', groups: ['-x'] }] },
    { entitlements: [{ vm: 'vm1' }] },
    { entitlements: [{ vm: 'vm1', users: ['a'], when: { days: ['Funday'] } }] },
    { firewall: { backend: 'pf' } },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
  }
});
