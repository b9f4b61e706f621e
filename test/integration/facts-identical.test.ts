// gatherFacts' answers, byte for byte, against hashes recorded from the code before it was made fast, with the
// real getent reading generated /etc/passwd and /etc/group (bind-mounted in a private mount namespace per
// call, so the host's files are never touched): the enumeration path (many names), the by-key path (few names),
// groups with listed and primary-group members, refused answers, root in a group, duplicate names.
// UPDATE_FACTS_HASHES=1 rewrites the hashes (only for an intended change of what gatherFacts returns).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { askingPolicy, factsText as cacheFactsText, questionsOf } from '../../helper/src/commands/plan-cache.js';
import { askEarly, enumerateEarly, gatherFacts, type Facts, type FactSources } from '../../helper/src/policy/facts.js';
import { exec, type Exec } from '../../helper/src/system/exec.js';
import { CASE_SPECS, renderCase, type CaseSpec } from '../support/render-cases.js';

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/golden/facts-hashes.json');
const unavailable = process.getuid?.() !== 0 ? 'needs root (a private mount namespace over /etc/passwd and /etc/group)' : null;

const SPECS: CaseSpec[] = [
  CASE_SPECS.find((s) => s.name === 'per-vm')!,
  { name: 'per-vm-few', shape: 'per-vm', users: 30, vms: 12, perUser: 2, utcOffsetMinutes: 0, log: true },
  CASE_SPECS.find((s) => s.name === 'group')!,
];

/** The generated NSS files: the spec's accounts (names as render-cases spells them) and some trouble. */
function nssFiles(users: number): { passwd: string; group: string } {
  const name = (i: number) => `u${String(i).padStart(5, '0')}`;
  const passwd = ['root:x:0:0:root:/root:/bin/bash', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'];
  // Every 9th account's primary group is `everyone` (members not listed in the group line).
  for (let i = 0; i < users; i++) passwd.push(`${name(i)}:x:${i % 7 === 3 ? 90_000 - i : 5000 + i}:${i % 9 === 0 ? 4000 : 100}::/nonexistent:/usr/sbin/nologin`);
  passwd.push(`${name(1)}:x:77777:100::/nonexistent:/usr/sbin/nologin`); // a second entry: the first one wins
  passwd.push('toor:x:0:0::/root:/bin/sh', 'ba\x1bd:x:6000:100::/:/bin/sh', 'weird:x:12a:100::/:/bin/sh');
  const listed = Array.from({ length: users }, (_, i) => name(i)).filter((_, i) => i % 9 !== 0 && i % 4 !== 1);
  const group = [
    'root:x:0:',
    'users:x:100:',
    `everyone:x:4000:${[...listed, 'toor', 'stranger', 'ba\x1bd'].join(',')}`,
    `shift:x:4001:${listed.filter((_, i) => i % 3 === 0).join(',')}`,
    'spicegrp:x:990:',
    // glibc itself skips a line with a non-numeric gid: the policy's group is then unknown.
    'nosuchgroup:x:notanumber:',
  ];
  return { passwd: passwd.join('\n') + '\n', group: group.join('\n') + '\n' };
}

/** Every field of Facts, as text (maps as entry lists, in their order). */
function factsText(f: Facts): string {
  const { now, ...rest } = f;
  return JSON.stringify({ ...rest, now: now.toISOString() }, (_k, v: unknown) => (v instanceof Map ? [...v] : v));
}

describe('gatherFacts answers are byte-identical to the recorded ones', { skip: unavailable ?? false }, () => {
  let dir: string;
  const actual: Record<string, string> = {};
  const asked: Record<string, [string, string]> = {};
  const early: Record<string, [string, string, string]> = {};
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cg-facts-'));
    for (const spec of SPECS) {
      const files = nssFiles(spec.users);
      const [passwd, group] = [path.join(dir, `${spec.name}.passwd`), path.join(dir, `${spec.name}.group`)];
      await writeFile(passwd, files.passwd, { mode: 0o644 });
      await writeFile(group, files.group, { mode: 0o644 });
      // Each getent runs in its own private mount namespace that sees the generated files.
      const run: Exec = (argv, o) => exec(['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', 'mount --bind "$0" /etc/passwd && mount --bind "$1" /etc/group && exec "${@:2}"', passwd, group, ...argv], o);
      const { policy } = renderCase(spec);
      const sources: FactSources = {
        exec: run,
        resolveHost: async (host) => {
          if (host === 'dual.example.org') return ['192.0.2.10', '2001:db8::10'];
          if (host === 'six.example.org') return ['2001:db8::20', 'fd00::20'];
          throw new Error('no such host');
        },
        readCa: async (p) => (p.includes('down') ? 'not a certificate' : `-----BEGIN CERTIFICATE-----\n${p}\n`),
        now: () => new Date('2026-11-23T10:00:00Z'),
      };
      const facts = await gatherFacts(policy, sources);
      actual[spec.name] = factsText(facts);
      // The plan cache (issue 13) asks the same questions from a skeleton of the policy, without parsing it.
      asked[spec.name] = [cacheFactsText(facts), cacheFactsText(await gatherFacts(askingPolicy(questionsOf(policy)), sources))];
      // Lookups started before the parse (askEarly), from this policy's questions and from another policy's.
      const q = questionsOf(policy);
      const other = { ...q, groups: q.groups.length > 0 ? q.groups.slice(1) : ['shift'] };
      early[spec.name] = [
        factsText(await gatherFacts(policy, { ...sources, early: askEarly(run, q) })),
        factsText(await gatherFacts(policy, { ...sources, early: askEarly(run, other) })),
        // A first apply's guess, from the policy file's size alone: the enumeration, no group.
        factsText(await gatherFacts(policy, { ...sources, early: enumerateEarly(run) })),
      ];
    }
    if (process.env.UPDATE_FACTS_HASHES === '1') {
      writeFileSync(FILE, JSON.stringify(Object.fromEntries(Object.entries(actual).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')])), null, 2) + '\n');
    }
  });
  after(async () => dir && rm(dir, { recursive: true, force: true }));

  for (const spec of SPECS) {
    test(`${spec.name}: users, groups, gids, refused answers, addresses, CA and problems`, async () => {
      const expected = JSON.parse(await readFile(FILE, 'utf8')) as Record<string, string>;
      assert.equal(createHash('sha256').update(actual[spec.name]!).digest('hex'), expected[spec.name], `${spec.name}: facts differ from the recorded ones:\n${actual[spec.name]!.slice(0, 2000)}`);
    });
  }

  for (const spec of SPECS) {
    test(`${spec.name}: the plan cache's skeleton policy gets the same answers as the policy`, () => {
      const [full, skeleton] = asked[spec.name]!;
      assert.equal(skeleton, full);
    });
  }

  for (const spec of SPECS) {
    test(`${spec.name}: lookups started before the parse give the same answers, whatever they were started for`, () => {
      assert.deepEqual(early[spec.name], [actual[spec.name], actual[spec.name], actual[spec.name]]);
    });
  }

  test('the cases reach what they claim: primary-group members, refused answers, root, the first of two entries', () => {
    const g = JSON.parse(actual.group!) as { groups: [string, string[]][]; refused: { key: string; member?: string }[]; users: [string, { uid: number }][] };
    const everyone = new Map(g.groups).get('everyone')!;
    assert.ok(everyone.includes('u00000'), 'a primary-group member (not listed) is a member');
    assert.ok(everyone.includes('toor'), 'root is listed (plan/ skips it)');
    assert.ok(g.refused.some((r) => r.key === 'everyone' && r.member === 'ba\x1bd'), 'a bad member name is refused');
    for (const name of ['per-vm', 'per-vm-few']) {
      const p = JSON.parse(actual[name]!) as typeof g;
      assert.equal(new Map(p.users).get('u00001')?.uid, 5001, `${name}: the first of two entries wins`);
    }
  });
});
