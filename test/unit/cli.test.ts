// The CLI contract: commands, options and exit codes (DESIGN.md), without root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const helper = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/consolegate-helper.js');
const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [helper, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

test('usage errors exit 64 and print usage', () => {
  for (const args of [[], ['frobnicate'], ['validate', 'extra'], ['validate', '--bogus']]) {
    const r = run(args);
    assert.equal(r.status, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage: consolegate-helper/);
  }
  assert.equal(run(['--help']).status, 0);
});

test('validate: 0 for a valid policy, 1 with file:line:col for an invalid one; --policy beats CONSOLEGATE_POLICY', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-cli-'));
  const good = path.join(dir, 'good.yaml');
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(good, 'version: 1\nservers:\n  s: { host: 127.0.0.1, ca: /nonexistent.pem, host-subject: "CN=s" }\nvms:\n  v: { server: s, tls-port: 20002 }\nentitlements:\n  - { vm: v, users: [root] }\n');
  await writeFile(bad, 'version: 1\nvms:\n  v: { server: s, tls-port: 0 }\n');
  const ok = run(['validate', '--policy', good], { CONSOLEGATE_POLICY: bad });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /good\.yaml:7:5: warning: VM `v`: server `s`: CA `\/nonexistent\.pem` is unusable/);
  const ko = run(['validate'], { CONSOLEGATE_POLICY: bad });
  assert.equal(ko.status, 1);
  assert.match(ko.stderr, new RegExp(`${bad}:3:29: Expected \`tls-port\` to be an integer 1-65535, got \`0\``));
  assert.match(ko.stderr, /bad\.yaml:3:3: VM `v` names unknown server `s`/);
});

test('--strict turns what cannot be in force here into errors', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-cli-'));
  const file = path.join(dir, 'p.yaml');
  await writeFile(file, 'version: 1\nservers:\n  s: { host: 127.0.0.1, ca: /nonexistent.pem, host-subject: "CN=s" }\nvms:\n  v: { server: s, tls-port: 20002 }\nentitlements:\n  - { vm: v, users: [nosuchuserhere] }\n');
  assert.equal(run(['validate', '--policy', file]).status, 0);
  const strict = run(['validate', '--strict', '--policy', file]);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /p\.yaml:\d+:\d+: VM `v`: server `s`: CA/);
});

test('--json errors are one JSON document with code and positions', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cg-cli-'));
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'version: 1\nvms:\n  "v 1": { server: s, tls-port: 20002 }\n');
  const r = run(['validate', '--json', '--policy', bad]);
  assert.equal(r.status, 1);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.error.code, 'POLICY_INVALID');
  assert.deepEqual(doc.error.diagnostics[0], { file: bad, line: 3, col: 3, message: 'Invalid VM id `v 1`: must match ^[a-z0-9][a-z0-9_-]{0,62}$ (lowercase letters, digits, \'_\' and \'-\')' });
});

test('apply and remove refuse without root and change nothing', () => {
  // As root, drop to nobody for this one run; as a user, run as we are.
  const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  for (const command of ['apply', 'remove']) {
    const r = spawnSync(asUser[0] ?? process.execPath, [...asUser.slice(1), ...(asUser.length ? [process.execPath] : []), helper, command, '--policy', '/nonexistent'], {
      encoding: 'utf8',
      env: { ...process.env, CONSOLEGATE_STATE_DIR: '/nonexistent/state' },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`\`${command}\` changes the firewall, sudoers and the viewer: run it as root`));
  }
});
