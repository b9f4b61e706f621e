// Property tests of the policy loader and the sudoers renderer (issue 6), with fast-check: thousands of
// generated inputs, many with hostile names (newlines, `#`, `,`, `:`, `\`, `=`, spaces, `ALL`, shell
// metacharacters, unicode look-alikes, NUL). For every input:
//   - nothing throws;
//   - a rejected policy names file:line:col, and every value we know to be bad is named at its exact place;
//   - an accepted policy contains only safe words, and its rendered sudoers file passes `visudo -c`, and sudo's
//     own parser (`cvtsudoers -e -f json`) reads back exactly the intended grants: one exact command per
//     (uid, VM), by number, as root, no password, and nothing else;
//   - a policy made only of plainly valid names is accepted.
// FUZZ_RUNS scales the run counts; FUZZ_SEED repeats a run.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Facts } from '../../helper/src/policy/facts.js';
import type { Policy } from '../../helper/src/policy/types.js';
import { loadPolicy } from '../../helper/src/policy/load.js';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { makePlan } from '../../helper/src/plan/plan.js';
import { ENV_KEEP, renderSudoers } from '../../helper/src/plan/sudoers.js';
import { ConsolegateError, type Diagnostic } from '../../helper/src/errors.js';
import { exec } from '../../helper/src/system/exec.js';

const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns * SCALE)), ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true });

async function unavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (visudo -c checks the rendered sudoers files)';
  for (const cmd of ['visudo', 'cvtsudoers']) if ((await exec(['sh', '-c', `command -v ${cmd}`])).code !== 0) return `\`${cmd}\` is missing (apt install sudo)`;
  return null;
}
const skip = await unavailable();

// ---------------------------------------------------------------------------------------------------------
// Oracles, written from DESIGN.md rather than imported, so the helper's own patterns are not graded by themselves.

/** Characters sudoers or a shell would interpret, whitespace, and anything outside printable ASCII. */
const UNSAFE_IN_SUDOERS = /[\s,:=\\?*[\]!#%"'`$;|&<>(){}@~^+]|[^\x21-\x7e]/u;
/** Names that certainly must be rejected: characters outside what DESIGN.md allows for the kind. */
const BAD = {
  id: (v: string) => /[^a-z0-9_-]/.test(v) || !/^[a-z0-9]/.test(v),
  account: (v: string) => /[^a-z0-9_.-]/.test(v) || !/^[a-z_]/.test(v),
  // Users and groups as a directory spells them (issue 12, docs/policy.md): only ever looked up and shown.
  name: (v: string) =>
    v === '' || Buffer.byteLength(v) > 255 || /[\p{Cc}\p{Zl}\p{Zp}\u202a-\u202e\u2066-\u2069:]/u.test(v) || v.trim() !== v || /^[0-9]+$/.test(v) || /^[-+]/.test(v),
  path: (v: string) => /[^A-Za-z0-9._+/-]/.test(v) || !v.startsWith('/'),
};
/** Names that certainly must be accepted. */
const PLAIN = { id: /^[a-z][a-z0-9]{0,7}$/, account: /^[a-z][a-z0-9]{0,7}$/ };

// ---------------------------------------------------------------------------------------------------------
// Generators.

const HOSTILE = [
  '\n', '\r\n', '#', ',', ':', '\\', '=', ' ', '\t', 'ALL', '!', '%', '@', '*', '?', '[', ']', '$(id)', '`id`',
  ';', '|', '&&', '>', '<', '"', "'", '(', ')', '/', '..', '\u0000', '\u0085', '\u2028', '\u202e', 'é', 'ＡＬＬ',
  'а', '😀', 'ǅ', 'root', '-', '.', '_', 'Defaults', '%sudo', '+', '~', 'NOPASSWD:', ' ALL=(ALL) ALL', '{', '}',
];
const piece = fc.oneof(fc.constantFrom(...HOSTILE), fc.stringMatching(/^[a-z0-9]{1,4}$/));
const hostile = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
const anyText = fc.string({ unit: 'grapheme', maxLength: 10 });

/** A name of one kind: mostly valid, often hostile, sometimes anything at all. */
const nameOf = (valid: fc.Arbitrary<string>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: hostile, weight: 3 }, { arbitrary: anyText, weight: 1 });
const validId = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}$/);
const validAccount = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,12}$/);
// YAML reads a plain `null`, `true` or `false` as no string at all; rejecting those is right, so leave them out.
const plainName = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/).filter((s) => !['null', 'true', 'false'].includes(s));
/** A JSON string is a YAML 1.2 double-quoted scalar; also escape what YAML 1.1 treated as line breaks. */
const yamlQuote = (v: string) => JSON.stringify(v).replace(/[\u0085\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

interface GenEntitlement {
  vm: number | string;
  users: string[];
  groups: string[];
  when: { days?: string[]; hours?: string } | null;
}
interface GenPolicy {
  viewerPath: string;
  viewerGroup: string;
  servers: { id: string; host: string; ca: string }[];
  vms: { id: string; server: number; title: string }[];
  entitlements: GenEntitlement[];
  quoting: 'json' | 'plain';
}

/** Names and free text for one generated policy. */
interface Vocabulary {
  id: fc.Arbitrary<string>;
  account: fc.Arbitrary<string>;
  path: fc.Arbitrary<string>;
  text: fc.Arbitrary<string>;
  day: fc.Arbitrary<string>;
  hours: fc.Arbitrary<string>;
  quoting: fc.Arbitrary<'json' | 'plain'>;
}

const VALID_TEXT = fc.constantFrom('Book-keeping', 'A # b, c: d = e', 'Bücher', 'x');
const CLEAN: Vocabulary = {
  id: validId,
  account: validAccount,
  path: fc.constantFrom('/usr/bin/remote-viewer', '/etc/consolegate/ca/a.pem', '/opt/v+1/x_y.pem'),
  text: VALID_TEXT,
  day: fc.constantFrom('Mon', 'Tue', 'Sun'),
  hours: fc.constantFrom('08:00-18:00', '00:00-24:00'),
  quoting: fc.constant('json'),
};
const HOSTILE_VOCABULARY: Vocabulary = {
  id: nameOf(validId),
  account: nameOf(validAccount),
  path: nameOf(CLEAN.path),
  text: fc.oneof(VALID_TEXT, anyText, hostile),
  day: fc.oneof(CLEAN.day, hostile),
  hours: fc.oneof(CLEAN.hours, hostile),
  quoting: fc.constantFrom('json', 'plain'),
};

function policyArb(v: Vocabulary): fc.Arbitrary<GenPolicy> {
  return fc
    .record({
      viewerPath: v.path,
      viewerGroup: v.account,
      servers: fc.uniqueArray(fc.record({ id: v.id, host: fc.constantFrom('127.0.0.1', '192.0.2.7', '2001:db8::7'), ca: v.path }), { minLength: 1, maxLength: 2, selector: (s) => s.id }),
      vms: fc.uniqueArray(fc.record({ id: v.id, server: fc.nat(1), title: v.text }), { minLength: 1, maxLength: 4, selector: (x) => x.id }),
      entitlements: fc.array(
        fc.record({
          vm: fc.oneof({ arbitrary: fc.nat(3), weight: 5 }, { arbitrary: v.id, weight: 1 }),
          users: fc.array(v.account, { maxLength: 3 }),
          groups: fc.array(v.account, { maxLength: 2 }),
          when: fc.option(fc.record({ days: fc.option(fc.array(v.day, { minLength: 1, maxLength: 2 }), { nil: undefined }), hours: fc.option(v.hours, { nil: undefined }) }, { requiredKeys: [] }), { nil: null }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      quoting: v.quoting,
    })
    .map((p) => ({ ...p, vms: p.vms.map((x) => ({ ...x, server: x.server % p.servers.length })) }));
}

/** Where a value was written: 1-based line and column of its first character (the opening quote when quoted). */
interface Placed {
  kind: 'id' | 'account' | 'name' | 'path' | 'other';
  value: string;
  line: number;
  col: number;
}

/** YAML text for a generated policy, and where every name sits in it. */
function render(p: GenPolicy): { text: string; placed: Placed[] } {
  const lines: string[] = [];
  const placed: Placed[] = [];
  const q = (v: string) => (p.quoting === 'json' ? yamlQuote(v) : v);
  /** Appends a line built from literal text and placed values. */
  const line = (...parts: (string | [Placed['kind'], string])[]) => {
    let text = '';
    for (const part of parts) {
      if (typeof part === 'string') text += part;
      else {
        placed.push({ kind: part[0], value: part[1], line: lines.length + 1, col: text.length + 1 });
        text += q(part[1]);
      }
    }
    lines.push(text);
  };
  const vmId = (e: GenEntitlement) => (typeof e.vm === 'number' ? p.vms[e.vm % p.vms.length]!.id : e.vm);
  line('version: 1');
  line('viewer:');
  line('  path: ', ['path', p.viewerPath]);
  line('  group: ', ['account', p.viewerGroup]);
  line('firewall: { backend: nftables, protect: [ { ports: "20000-20999" } ] }');
  line('servers:');
  for (const s of p.servers) {
    line('  ', ['id', s.id], ':');
    line('    host: "', s.host, '"');
    line('    ca: ', ['path', s.ca]);
    line('    host-subject: "CN=x"');
  }
  line('vms:');
  p.vms.forEach((v, i) => {
    line('  ', ['id', v.id], ':');
    line('    server: ', ['id', p.servers[v.server]!.id]);
    line(`    tls-port: ${20000 + i}`);
    line('    title: ', ['other', v.title]);
  });
  line('entitlements:');
  for (const e of p.entitlements) {
    line('  - vm: ', ['id', vmId(e)]);
    const list = (key: string, names: string[]) => {
      const parts: (string | [Placed['kind'], string])[] = [`    ${key}: [`];
      names.forEach((n, i) => parts.push(...(i > 0 ? [', '] : []), ['name', n] as [Placed['kind'], string]));
      line(...parts, ']');
    };
    if (e.users.length > 0 || e.groups.length === 0) list('users', e.users);
    if (e.groups.length > 0) list('groups', e.groups);
    if (e.when) {
      line('    when:');
      if (e.when.days) {
        const parts: (string | [Placed['kind'], string])[] = ['      days: ['];
        e.when.days.forEach((d, i) => parts.push(...(i > 0 ? [', '] : []), ['other', d] as [Placed['kind'], string]));
        line(...parts, ']');
      }
      if (e.when.hours !== undefined) line('      hours: ', ['other', e.when.hours]);
      if (!e.when.days && e.when.hours === undefined) lines[lines.length - 1] += ' {}';
    }
  }
  return { text: lines.join('\n') + '\n', placed };
}

// ---------------------------------------------------------------------------------------------------------
// Checks.

function checkDiagnostics(diags: Diagnostic[], file: string, text: string): void {
  const lineCount = text.split('\n').length;
  for (const d of diags) {
    assert.equal(d.pos.file, file, `diagnostic names another file: ${JSON.stringify(d)}`);
    assert.ok(Number.isInteger(d.pos.line) && d.pos.line >= 1 && d.pos.line <= lineCount, `line out of range: ${JSON.stringify(d)}`);
    assert.ok(Number.isInteger(d.pos.col) && d.pos.col >= 1, `column out of range: ${JSON.stringify(d)}`);
    assert.ok(d.message.length > 0 && !/\n/.test(d.message), `message empty or multi-line: ${JSON.stringify(d)}`);
  }
}

/** Facts in which every user the policy names exists and every group has two members of its own. */
function factsFor(policy: Policy): { facts: Facts; members: Map<string, string[]> } {
  const users = new Map<string, { name: string; uid: number; gid: number }>();
  const members = new Map<string, string[]>();
  const addUser = (n: string) => users.has(n) || users.set(n, { name: n, uid: 10_000 + users.size, gid: 10_000 + users.size });
  for (const e of policy.entitlements) {
    e.users.forEach((u) => addUser(u.name));
    for (const { name: g } of e.groups) {
      if (!members.has(g)) members.set(g, [`gm${members.size}x`, `gm${members.size}y`]);
      members.get(g)!.forEach(addUser);
    }
  }
  const servers = [...policy.servers.values()];
  return {
    members,
    facts: {
      viewerGid: 990,
      users,
      groups: members,
      addresses: new Map(servers.map((s) => [s.id, [s.host]])),
      ca: new Map(servers.map((s) => [s.id, '-----BEGIN CERTIFICATE-----\n'])),
      serverProblems: new Map(),
      utcOffsetMinutes: 0,
      now: new Date('2026-11-23T10:00:00Z'),
    },
  };
}

let tmp = '';
let fileNo = 0;

/** visudo accepts the file, and sudo's parser reads back exactly `want` (user → commands) and our Defaults. */
async function checkSudoers(text: string, want: { uid: number; command: string }[], openConsole: string): Promise<void> {
  const file = path.join(tmp, `sudoers-${++fileNo}`);
  await writeFile(file, text, { mode: 0o440 });
  const v = await exec(['visudo', '-c', '-q', '-f', file]);
  assert.equal(v.code, 0, `visudo rejected:\n${text}\n${v.stderr}${v.stdout}`);
  // -e expands the Cmnd_Aliases: what each uid may run, as sudo itself reads it.
  const c = await exec(['cvtsudoers', '-e', '-f', 'json', file]);
  assert.equal(c.code, 0, `cvtsudoers failed: ${c.stderr}`);
  await rm(file);
  const parsed = JSON.parse(c.stdout) as { Defaults?: unknown[]; User_Specs?: unknown[]; [k: string]: unknown };
  assert.deepEqual(Object.keys(parsed).sort(), want.length > 0 ? ['Defaults', 'User_Specs'] : ['Defaults'], `unexpected sections: ${c.stdout}`);
  assert.deepEqual(parsed.Defaults, [{ Binding: [{ command: openConsole }], Options: [{ operation: 'list_add', env_keep: [...ENV_KEEP] }] }]);
  // Every spec: one user by number, on ALL hosts, as root, no password, exact commands; nothing else.
  const got: string[] = [];
  for (const s of (parsed.User_Specs ?? []) as { User_List: unknown[]; Host_List: unknown; Cmnd_Specs: { Commands: { command: string }[] }[] }[]) {
    // Users with the same VMs share one User_Alias (issue 12): every member by number, none twice.
    const uids = s.User_List.map((u) => (u as { userid?: number }).userid);
    for (const uid of uids) assert.ok(Number.isInteger(uid), `a user not by number: ${JSON.stringify(s.User_List)}`);
    assert.deepEqual(s.Host_List, [{ hostname: 'ALL' }]);
    assert.equal(s.Cmnd_Specs.length, 1);
    const { Commands, ...rest } = s.Cmnd_Specs[0]!;
    assert.deepEqual(rest, { runasusers: [{ username: 'root' }], Options: [{ authenticate: false }] });
    for (const uid of uids) for (const cmd of Commands) got.push(`${uid} ${cmd.command}`);
  }
  assert.deepEqual(got.sort(), [...new Set(want.map((w) => `${w.uid} ${w.command}`))].sort(), `sudo reads other grants than intended from:\n${text}`);
}

describe('policy loader and sudoers renderer under generated input', { skip: skip ?? false }, () => {
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cgt-fuzz-'));
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('arbitrary YAML-ish text never crashes the loader; every diagnostic names file:line:col', () => {
    const token = fc.constantFrom(
      '\n', '  ', '- ', ': ', '{', '}', '[', ']', ', ', '"', "'", '#', '&a ', '*a', '!!str ', '|', '>', '%YAML 1.2\n---\n', '...\n', '~', 'null', '<<: ',
      'version', 'viewer', 'firewall', 'servers', 'vms', 'entitlements', 'vm', 'users', 'groups', 'when', 'days', 'hours', 'tls-port', 'port', 'host',
      'ca', 'host-subject', 'protect', 'ports', 'backend', 'log', '1', '20002', '70000', '-1', '0x10', 'true', 'Mon', '08:00-18:00', 'é', '\t', '\u0000', '\\',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }).map((t) => t.join('')), (text) => {
        const file = '/etc/consolegate/policy.d/fuzz #1.yaml';
        const { diagnostics } = parseFragment(file, text);
        checkDiagnostics(diagnostics, file, text);
        // Merging whatever was understood must not crash either.
        checkDiagnostics(mergeFragments([parseFragment(file, text).fragment]).diagnostics, file, text);
      }),
      params(4000),
    );
  });

  test('generated policies with hostile names: rejected at the exact place, or accepted and rendered safely', async (t) => {
    const stats = { accepted: 0, rejected: 0 };
    // Half the policies are clean (to reach the renderer often), half carry hostile names here and there.
    const arb = fc.tuple(fc.oneof(policyArb(CLEAN), policyArb(HOSTILE_VOCABULARY)), fc.constantFrom(null, '/var/lib/consolegate-test'));
    await fc.assert(
      fc.asyncProperty(arb, async ([p, stateDirArg]) => {
        const file = '/etc/consolegate/policy.yaml';
        const { text, placed } = render(p);
        const parsed = parseFragment(file, text);
        const merged = mergeFragments([parsed.fragment]);
        const diags = [...parsed.diagnostics, ...merged.diagnostics];
        checkDiagnostics(diags, file, text);

        if (diags.length > 0) {
          stats.rejected++;
          // Known-bad names, written as one-line quoted scalars, must each be named where they stand.
          if (p.quoting === 'json') {
            for (const v of placed) {
              if (v.kind === 'other' || !BAD[v.kind](v.value)) continue;
              assert.ok(
                diags.some((d) => d.pos.line === v.line && d.pos.col === v.col),
                `bad ${v.kind} ${JSON.stringify(v.value)} at ${v.line}:${v.col} is not named; diagnostics:\n${diags.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`).join('\n')}\n${text}`,
              );
            }
          }
          return;
        }

        stats.accepted++;
        const policy = merged.policy;
        // Written plain, a value means what YAML reads, not what the generator meant: `[r1_, ]` is one user and
        // `[a,b]` two. So the exact checks against the generated values hold for quoted policies; the check on
        // what was actually accepted holds for all.
        const exact = p.quoting === 'json';
        // Nothing unsafe got through, whatever the helper's own patterns say.
        if (exact) for (const v of placed) if (v.kind !== 'other') assert.ok(!BAD[v.kind](v.value), `accepted a bad ${v.kind}: ${JSON.stringify(v.value)}`);
        // Of the policy's names only VM ids reach sudoers (users by uid, no group at all).
        for (const w of policy.entitlements.map((e) => e.vm)) {
          assert.ok(!UNSAFE_IN_SUDOERS.test(w) && w !== 'ALL', `accepted an unsafe sudoers word: ${JSON.stringify(w)}`);
        }
        // The parser kept every entitlement as written.
        if (exact) {
          assert.deepEqual(
            policy.entitlements.map((e) => ({ vm: e.vm, users: e.users.map((u) => u.name), groups: e.groups.map((g) => g.name) })),
            p.entitlements.map((e) => ({ vm: typeof e.vm === 'number' ? p.vms[e.vm % p.vms.length]!.id : e.vm, users: e.users, groups: e.groups })),
          );
        }

        const { facts, members } = factsFor(policy);
        const openConsole = '/usr/libexec/consolegate/open-console';
        const plan = makePlan(policy, facts, { backend: 'nftables', openConsole, stateDirArg });
        const want = policy.entitlements.flatMap((e) =>
          [...e.users.map((u) => u.name), ...e.groups.flatMap((g) => members.get(g.name) ?? [])].map((user) => ({
            uid: facts.users.get(user)!.uid,
            command: [openConsole, ...(stateDirArg ? ['--state-dir', stateDirArg] : []), e.vm].join(' '),
          })),
        );
        await checkSudoers(plan.sudoers, want, openConsole);
      }),
      params(1500),
    );
    t.diagnostic(`accepted ${stats.accepted}, rejected ${stats.rejected}`);
    assert.ok(stats.accepted >= 50 * SCALE && stats.rejected >= 50 * SCALE, `the generator is lopsided: ${JSON.stringify(stats)}`);
  });

  test('a policy of plainly valid names is always accepted', () => {
    fc.assert(
      fc.property(policyArb({ ...CLEAN, id: plainName, account: plainName, text: fc.constantFrom('Book-keeping', 'x'), quoting: fc.constantFrom('json', 'plain') }), (p) => {
        // Only references that exist and windows that say something (`when: {}` is rightly rejected).
        const ents = p.entitlements.map((e) => ({ ...e, vm: typeof e.vm === 'number' ? e.vm : 0, when: e.when && (e.when.days || e.when.hours !== undefined) ? e.when : null }));
        const { text } = render({ ...p, entitlements: ents });
        const diags = [...parseFragment('p.yaml', text).diagnostics, ...mergeFragments([parseFragment('p.yaml', text).fragment]).diagnostics];
        // Plain names may still repeat where a policy forbids it (a VM id equal to a server id is fine; duplicates are not generated).
        assert.deepEqual(diags, [], text);
        assert.ok(PLAIN.id.test(p.vms[0]!.id));
      }),
      params(1000),
    );
  });

  test('renderSudoers refuses every unsafe word and renders every safe one exactly; user names never matter', async () => {
    let rendered = 0;
    const idWord = nameOf(validId);
    const pathWord = nameOf(fc.constantFrom('/usr/libexec/consolegate/open-console', '/opt/cg+1/open-console'));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          // Names as a directory spells them, hostile ones included: only the uid may reach the file.
          grants: fc.array(fc.record({ user: nameOf(validAccount), vm: idWord }), { minLength: 1, maxLength: 4 }),
          openConsole: pathWord,
          stateDirArg: fc.option(pathWord, { nil: null }),
          sources: fc.array(anyText.map((s) => `/etc/consolegate/policy.d/${s}.yaml`), { maxLength: 2 }),
        }),
        async (o) => {
          const grants = o.grants.map((g, i) => ({ ...g, uid: 1000 + i, addresses: ['192.0.2.1'], ports: [20002], window: null }));
          let text: string;
          try {
            text = renderSudoers({ ...o, grants, sources: ['/etc/consolegate/policy.yaml', ...o.sources] });
          } catch (err) {
            assert.ok(!(err instanceof ConsolegateError) && /refusing to write an unsafe sudoers word/.test((err as Error).message), `unexpected error: ${String(err)}`);
            // It refused: at least one word must really be outside the contract (DESIGN.md: strict ids, plain absolute paths).
            const badPath = (x: string) => BAD.path(x) || /\/\/|\/$/.test(x);
            const refusedRightly = o.grants.some((g) => BAD.id(g.vm)) || badPath(o.openConsole) || (o.stateDirArg !== null && badPath(o.stateDirArg));
            assert.ok(refusedRightly, `refused a safe input: ${JSON.stringify(o)}`);
            return;
          }
          rendered++;
          assert.equal(renderSudoers({ ...o, grants: grants.map((g) => ({ ...g, user: 'someone' })), sources: ['/etc/consolegate/policy.yaml', ...o.sources] }), text, 'a user name changed the file');
          const want = grants.map((g) => ({ uid: g.uid, command: [o.openConsole, ...(o.stateDirArg ? ['--state-dir', o.stateDirArg] : []), g.vm].join(' ') }));
          await checkSudoers(text, want, o.openConsole);
        },
      ),
      params(1500),
    );
    assert.ok(rendered >= 50 * SCALE, `only ${rendered} inputs were safe enough to render; the generator is lopsided`);
  });

  test('policy.d fragments: the diagnostic names the fragment that holds the bad value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(plainName, hostile), { minLength: 1, maxLength: 3 }), fc.nat(2), async (frags, badIndex) => {
        const dir = await mkdtemp(path.join(tmp, 'load-'));
        const main = path.join(dir, 'policy.yaml');
        const fragDir = path.join(dir, 'policy.d');
        await mkdir(fragDir);
        await writeFile(main, 'version: 1\nservers:\n  s1: { host: 127.0.0.1, ca: /etc/ca.pem, host-subject: "CN=x" }\n');
        const bad = badIndex % frags.length;
        const files = frags.map((_, i) => path.join(fragDir, `${String(i).padStart(2, '0')}-part.yaml`));
        for (const [i, [vm, evil]] of frags.entries()) {
          const user = i === bad ? yamlQuote(evil) : 'alice';
          await writeFile(files[i]!, `vms:\n  ${vm}${i}: { server: s1, tls-port: ${20000 + i} }\nentitlements:\n  - vm: ${vm}${i}\n    users: [${user}]\n`);
        }
        try {
          await loadPolicy(main, fragDir);
          assert.ok(!BAD.name(frags[bad]![1]), `accepted the bad user ${JSON.stringify(frags[bad]![1])}`);
        } catch (err) {
          assert.ok(err instanceof ConsolegateError && err.code === 'POLICY_INVALID', `unexpected error: ${String(err)}`);
          assert.ok(
            err.diagnostics.some((d) => d.pos.file === files[bad] && d.pos.line === 5 && d.pos.col === 13),
            `no diagnostic at ${files[bad]}:5:13: ${err.diagnostics.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.col}`).join(', ')}`,
          );
          for (const d of err.diagnostics) assert.ok(files.includes(d.pos.file) || d.pos.file === main, `diagnostic names ${d.pos.file}`);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
      params(200),
    );
  });
});
