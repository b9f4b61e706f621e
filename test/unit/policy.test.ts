// The policy loader: every error at file:line:col, all of them at once, hostile names rejected before use.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConsolegateError, formatDiagnostic } from '../../helper/src/errors.js';
import { loadPolicy } from '../../helper/src/policy/load.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';

const BASE = `version: 1
servers:
  s1: { host: 10.0.0.1, ca: /etc/ca.pem, host-subject: "CN=s1" }
vms:
  vm1: { server: s1, tls-port: 20002 }
`;

function errorsOf(text: string, file = 'p.yaml'): string[] {
  const parsed = parseFragment(file, text);
  const merged = mergeFragments([parsed.fragment]);
  return [...parsed.diagnostics, ...merged.diagnostics].map(formatDiagnostic);
}

test('the example policy from DESIGN.md is valid', () => {
  const text = `${BASE}entitlements:\n  - vm: vm1\n    users: [myself]\n    groups: [accounting]\n    when: { days: [Wed, Thu], hours: "08:00-18:00" }\n`;
  assert.deepEqual(errorsOf(text), []);
});

test('every error is reported, each at its own line and column', () => {
  const text = `version: 1
servers:
  s1: { host: 10.0.0.1, ca: /etc/ca.pem, host-subject: "CN=s1" }
vms:
  vm1: { server: s1, tls-port: 70000 }
  vm2: { server: nope, tls-port: 20004 }
entitlements:
  - vm: ghost
    users: [alice]
  - vm: vm2
    users: [bob]
    when: { days: [Funday], hours: "18:00-08:00" }
`;
  assert.deepEqual(errorsOf(text), [
    'p.yaml:5:32: Expected `tls-port` to be an integer 1-65535, got `70000`',
    'p.yaml:12:20: Invalid day `Funday`: must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun',
    'p.yaml:12:36: Invalid `hours` `18:00-08:00`: must end after it starts (split a window across midnight into two entitlements)',
    'p.yaml:6:3: VM `vm2` names unknown server `nope`',
    'p.yaml:8:5: Entitlement names unknown VM `ghost`',
  ]);
});

test('injection attempts in names are rejected before anything renders', () => {
  // Names only ever become numbers in rules (issue 12), so what is refused is what NSS cannot return or a
  // terminal would act on; `alice ALL=(ALL) ALL`, `$(reboot)` and `CORP\\alice` are names a directory may hold.
  const hostile = [
    ['user', '"alice\\nroot ALL=(ALL) NOPASSWD: ALL"'],
    ['user', '"al:ice"'],
    ['user', '"al\\u001bice"'],
    ['user', '"1001"'],
    ['user', '"-alice"'],
    ['user', '" alice"'],
    ['group', '"Domain\\u202eUsers"'],
  ];
  for (const [kind, name] of hostile) {
    const errs = errorsOf(`${BASE}entitlements:\n  - vm: vm1\n    ${kind}s: [${name}]\n`);
    assert.equal(errs.length, 1, `${name} should give one error, got ${JSON.stringify(errs)}`);
    assert.match(errs[0]!, new RegExp(`^p\\.yaml:8:\\d+: Invalid ${kind} name \`.*\`: must`));
  }
  for (const name of ['"alice@corp.example.com"', '"Domain Users"', '"CORP\\\\alice"', '"host$"', 'BOB', '"alice ALL=(ALL) ALL"']) {
    assert.deepEqual(errorsOf(`${BASE}entitlements:\n  - vm: vm1\n    users: [${name}]\n    groups: [${name}]\n`), [], name);
  }
  for (const id of ['"vm 1"', '"vm\\n1"', '"vm#1"', '"vm,1"', '"vm:1"', '"vm\\\\1"', '"vm;rm -rf /"', '"vm*"', '"vm?"', '"-vm"', '"VM1"']) {
    const errs = errorsOf(`${BASE.replace('vm1: {', `${id}: {`)}`);
    assert.ok(errs.some((e) => /Invalid VM id/.test(e)), `${id}: ${JSON.stringify(errs)}`);
  }
  for (const p of ['relative/viewer', '/usr/bin/../bin/sh', '/usr/bin/remote viewer', '/usr/bin/remote-viewer\n']) {
    const errs = errorsOf(`${BASE}viewer: { path: ${JSON.stringify(p)} }\n`);
    assert.ok(errs.some((e) => /viewer\.path/.test(e)), `${JSON.stringify(p)}: ${JSON.stringify(errs)}`);
  }
  const subj = errorsOf(BASE.replace('"CN=s1"', '"CN=s1\\nsecure-channels=none"'));
  assert.match(subj.join('\n'), /host-subject.*control characters or line breaks/);
  const host = errorsOf(BASE.replace('host: 10.0.0.1', 'host: "evil host; rm"'));
  assert.match(host.join('\n'), /p\.yaml:3:15: Invalid `host`/);
});

test('unknown keys, wrong types, duplicates and syntax errors point at the spot', () => {
  assert.deepEqual(errorsOf(`${BASE}firewal: {}\n`), [
    'p.yaml:6:1: Unknown key `firewal` in the policy; expected one of `version`, `viewer`, `firewall`, `servers`, `vms`, `entitlements`, `clients`',
  ]);
  assert.deepEqual(errorsOf(`${BASE}firewall: { backend: pf }\n`), ['p.yaml:6:22: Invalid `firewall.backend` `pf`: must be one of auto, nftables, iptables']);
  assert.deepEqual(errorsOf(`${BASE}firewall: { protect: [ { ports: "20999-20000" } ] }\n`), [
    'p.yaml:6:33: Expected `ports` to be a port or a range like 20000-20999 within 1-65535, got `20999-20000`',
  ]);
  assert.match(errorsOf(`${BASE}vms:\n  vm2: { server: s1, tls-port: 1 }\n`)[0]!, /^p\.yaml:6:1: YAML: Map keys must be unique/);
  assert.match(errorsOf('version: 1\nservers: [\n')[0]!, /^p\.yaml:\d+:\d+: YAML: /);
  assert.deepEqual(errorsOf(`version: 2\n`), ['p.yaml:1:10: Expected `version` to be an integer 1-1, got `2`']);
  assert.deepEqual(errorsOf(`${BASE}  vm2: { server: s1, tls-port: 20002 }\n`), ['p.yaml:6:3: VM `vm2` uses port 20002 of server `s1`, already used by VM `vm1`']);
  assert.deepEqual(errorsOf(`${BASE}entitlements:\n  - vm: vm1\n`), ['p.yaml:7:5: An entitlement needs `users` or `groups`']);
});

test('fragments merge in name order; a second definition names the first', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-policy-'));
  const fdir = path.join(dir, 'policy.d');
  await mkdir(fdir);
  await writeFile(path.join(dir, 'policy.yaml'), BASE);
  await writeFile(path.join(fdir, '20-more.yaml'), 'vms:\n  vm3: { server: s1, tls-port: 20006 }\nentitlements:\n  - { vm: vm3, users: [bob] }\n');
  await writeFile(path.join(fdir, '10-first.yaml'), 'entitlements:\n  - { vm: vm1, users: [alice] }\n');
  await writeFile(path.join(fdir, 'ignored.yml.bak'), 'garbage: [');
  const policy = await loadPolicy(path.join(dir, 'policy.yaml'), fdir);
  assert.deepEqual(policy.entitlements.map((e) => `${e.vm}:${e.users[0]!.name}`), ['vm1:alice', 'vm3:bob']);
  assert.deepEqual(policy.files.map((f) => path.basename(f)), ['policy.yaml', '10-first.yaml', '20-more.yaml']);

  await writeFile(path.join(fdir, '30-dup.yaml'), 'vms:\n  vm1: { server: s1, tls-port: 20008 }\nviewer: { group: other }\n');
  await writeFile(path.join(fdir, '40-dup.yaml'), 'viewer: { group: third }\n');
  await assert.rejects(loadPolicy(path.join(dir, 'policy.yaml'), fdir), (err: unknown) => {
    assert.ok(err instanceof ConsolegateError && err.code === 'POLICY_INVALID');
    assert.deepEqual(err.diagnostics.map(formatDiagnostic), [
      `${fdir}/40-dup.yaml:1:18: \`viewer.group\` is already set at ${fdir}/30-dup.yaml:3:18; set it in one file only`,
      `${fdir}/30-dup.yaml:2:3: VM \`vm1\` is already defined at ${dir}/policy.yaml:5:3`,
    ]);
    return true;
  });
});

test('a missing main policy is POLICY_UNREADABLE, not a crash', async () => {
  await assert.rejects(loadPolicy('/nonexistent/policy.yaml', '/nonexistent/policy.d'), (err: unknown) => err instanceof ConsolegateError && err.code === 'POLICY_UNREADABLE');
});
