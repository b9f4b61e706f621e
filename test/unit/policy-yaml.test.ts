// Issue 13: the policy's YAML layer (js-yaml, one parser) keeps every diagnostic at the exact file:line:col, in every
// style a policy is written in, and refuses what could make one text mean two things or cost exponential time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic } from '../../helper/src/errors.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';

const BASE = `version: 1
servers:
  s1: { host: 10.0.0.1, ca: /etc/ca.pem, host-subject: "CN=s1" }
vms:
  vm1: { server: s1, tls-port: 20002 }
`;

function errorsOf(text: string): string[] {
  const parsed = parseFragment('p.yaml', text);
  return [...parsed.diagnostics, ...mergeFragments([parsed.fragment]).diagnostics].map(formatDiagnostic);
}

const BAD_USER = 'Invalid user name `al:ice`: must not contain `:`, control characters, line breaks or bidirectional overrides';
const BAD_DAY = 'Invalid day `Funday`: must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun';

test('block style: each bad value at its own line and column', () => {
  const text = `${BASE}entitlements:\n  - vm: vm1\n    users:\n      - alice\n      - "al:ice"\n    when:\n      days:\n        - Mon\n        - Funday\n`;
  assert.deepEqual(errorsOf(text), [`p.yaml:10:9: ${BAD_USER}`, `p.yaml:14:11: ${BAD_DAY}`]);
});

test('flow style: each bad value at its column on the one line', () => {
  const text = `${BASE}entitlements: [ { vm: vm1, users: [alice, "al:ice"], when: { days: [Mon, Funday] } } ]\n`;
  assert.deepEqual(errorsOf(text), [`p.yaml:6:43: ${BAD_USER}`, `p.yaml:6:74: ${BAD_DAY}`]);
});

test('nested lists are reported where the inner list starts', () => {
  const text = `${BASE}entitlements:\n  - vm: vm1\n    users:\n      - - alice\n      - [bob]\n`;
  assert.deepEqual(errorsOf(text), ['p.yaml:9:9: Expected user name to be a string, got a list', 'p.yaml:10:9: Expected user name to be a string, got a list']);
});

test('empty values are placed right after their `:`', () => {
  assert.deepEqual(errorsOf(`${BASE}entitlements:\n  - vm: vm1\n    users:\n    groups: [a]\n`), ['p.yaml:8:11: Expected `users` to be a list, got nothing']);
  assert.deepEqual(errorsOf(`${BASE}entitlements:\n  - vm: vm1\n    users: # later\n    groups: [a]\n`), ['p.yaml:8:12: Expected `users` to be a list, got nothing']);
  assert.deepEqual(errorsOf(`${BASE}firewall: { backend: }\n`), ['p.yaml:6:22: Expected `firewall.backend` to be a string, got nothing']);
});

test('a second document, and syntax errors, are YAML errors at their place', () => {
  assert.deepEqual(errorsOf(`${BASE}---\nversion: 1\n`), ['p.yaml:6:1: YAML: expected a single document in the stream, but found more']);
  assert.deepEqual(errorsOf('version: 1\nservers: [\n'), ['p.yaml:3:1: YAML: unexpected end of the stream within a flow collection']);
  assert.deepEqual(errorsOf('version: 1\nservers: { a: 1\nvms: {}\n'), ['p.yaml:3:1: YAML: missed comma between flow collection entries']);
  assert.deepEqual(errorsOf('viewer:\n  group: x\n bad: 1\n'), ['p.yaml:3:2: YAML: bad indentation of a mapping entry']);
});

test('a duplicate key is an error at the duplicate, in block and flow style and nested', () => {
  assert.deepEqual(errorsOf(`${BASE}vms:\n  vm2: { server: s1, tls-port: 1 }\n`), ['p.yaml:6:1: YAML: Map keys must be unique']);
  assert.deepEqual(errorsOf(`${BASE}firewall: { log: true, backend: auto, log: false }\n`), ['p.yaml:6:39: YAML: Map keys must be unique']);
  assert.deepEqual(errorsOf(`${BASE}entitlements:\n  - vm: vm1\n    users: [a]\n    vm: vm1\n`), ['p.yaml:9:5: YAML: Map keys must be unique']);
});

test('issue 13: aliases are refused at the first one, so an alias bomb costs nothing', () => {
  // Nine levels of nine: walking it would visit 9^9 (387 million) strings.
  const levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) levels.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`);
  assert.deepEqual(errorsOf(`${levels.join('\n')}\n`), ['p.yaml:2:10: YAML: aliases are not supported (*a0); write the value out']);
  assert.deepEqual(errorsOf('viewer: &v { group: spicegrp }\nfirewall: *v\n'), ['p.yaml:2:11: YAML: aliases are not supported (*v); write the value out']);
  // An anchor alone is harmless and still allowed.
  assert.deepEqual(errorsOf(`${BASE}firewall: { backend: &b nftables }\n`), []);
});

test('issue 13: tags other than the YAML 1.2 core ones are refused at the tag', () => {
  assert.deepEqual(errorsOf(`${BASE}firewall: { backend: !shell "rm -rf /" }\n`), ['p.yaml:6:22: YAML: unknown tag !<!shell>']);
  assert.deepEqual(errorsOf(`${BASE}firewall:\n  log: !!binary aGVsbG8=\n`), ['p.yaml:7:8: YAML: unknown tag !<tag:yaml.org,2002:binary>']);
  assert.deepEqual(errorsOf(BASE.replace('tls-port: 20002', 'tls-port: !!timestamp 2001-01-01')), ['p.yaml:5:32: YAML: unknown tag !<tag:yaml.org,2002:timestamp>']);
  // Core tags keep their meaning: a string is not a port, and is named after its tag.
  assert.deepEqual(errorsOf(`${BASE}  vm2: { server: s1, tls-port: !!str 20004 }\n`), ['p.yaml:6:38: Expected `tls-port` to be an integer 1-65535, got `20004`']);
});

test('CRLF line endings give the same positions as LF', () => {
  const text = `${BASE}entitlements:\n  - vm: vm1\n    users: [alice, "al:ice"]\n    when:\n      days: [Funday]\n`;
  const want = [`p.yaml:8:20: ${BAD_USER}`, `p.yaml:10:14: ${BAD_DAY}`];
  assert.deepEqual(errorsOf(text), want);
  assert.deepEqual(errorsOf(text.replaceAll('\n', '\r\n')), want);
});

test('a UTF-8 byte order mark is read past, and counted on line 1 as before', () => {
  assert.deepEqual(errorsOf('\uFEFFversion: 2\nfirewall: { backend: pf }\n'), [
    'p.yaml:1:11: Expected `version` to be an integer 1-1, got `2`',
    'p.yaml:2:22: Invalid `firewall.backend` `pf`: must be one of auto, nftables, iptables',
  ]);
  assert.deepEqual(errorsOf(`\uFEFF${BASE}`), []);
});

test('tabs: refused as indentation at the tab, allowed as separators', () => {
  assert.deepEqual(errorsOf(`${BASE}firewall:\n\tlog: true\n`), ['p.yaml:7:1: YAML: tab characters must not be used in indentation']);
  assert.deepEqual(errorsOf(`${BASE}firewall: {\tbackend:\tpf\t}\n`), ['p.yaml:6:22: Invalid `firewall.backend` `pf`: must be one of auto, nftables, iptables']);
});

test('issue 13: a bare `-` list entry and a mapping inside a flow list without braces are refused at their place', () => {
  // js-yaml would read the lines after a bare `-` into its list even when less indented.
  assert.deepEqual(errorsOf(`${BASE}entitlements:\n  -\n  - vm: vm1\n    users: [a]\n`), ['p.yaml:7:4: YAML: a list entry is empty (a `-` with nothing after it)']);
  assert.deepEqual(errorsOf(`${BASE}entitlements:\n  - vm: vm1\n    users:\n      -\n  - vm: vm1\n    users: [b]\n`), [
    'p.yaml:9:8: YAML: a list entry is empty (a `-` with nothing after it)',
  ]);
  assert.deepEqual(errorsOf(`${BASE}firewall: { protect: [ ports: 20000 ] }\n`), ['p.yaml:6:29: YAML: a mapping inside a flow list needs braces, e.g. `[{ a: 1 }]`']);
  assert.deepEqual(errorsOf(`${BASE}firewall: { protect: [ { ports: 20000 } ] }\n`), []);
});

test('YAML 1.2 core: yes/no are strings, `<<` is an ordinary key, non-string keys are reported at the key', () => {
  assert.deepEqual(errorsOf(`${BASE}firewall: { log: yes }\n`), ['p.yaml:6:18: Expected `firewall.log` to be true or false, got `yes`']);
  assert.deepEqual(errorsOf(`${BASE}firewall:\n  <<: { log: true }\n`), ['p.yaml:7:3: Unknown key `<<` in `firewall`; expected one of `backend`, `protect`, `log`']);
  assert.deepEqual(errorsOf('vms:\n  1: { server: s, tls-port: 1 }\n  ~: x\n  [a]: y\n'), [
    'p.yaml:2:3: Expected the keys of `vms` to be strings',
    'p.yaml:3:3: Expected the keys of `vms` to be strings',
    'p.yaml:4:3: Expected the keys of `vms` to be strings',
  ]);
});

test('an empty or comment-only file is an empty fragment', () => {
  for (const text of ['', '# nothing yet\n', '---\n', '~\n']) assert.deepEqual(errorsOf(text), [], JSON.stringify(text));
});
