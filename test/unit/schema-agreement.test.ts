// The published JSON Schema and the helper's own policy validation cannot drift apart (issue 14). Every policy of the
// golden corpus and thousands of generated ones (a valid policy with structural mutations, values from the fuzz
// test's hostile vocabulary) go through both:
//   - whatever the helper accepts, the schema accepts;
//   - whatever the helper rejects, the schema rejects too, unless every reason is one a JSON Schema cannot state
//     (BEYOND_SCHEMA: references between parts, arithmetic on addresses and ranges, byte lengths).
// FUZZ_RUNS scales the run count; FUZZ_SEED repeats a run.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { parse } from 'yaml';
import { mergeFragments } from '../../helper/src/policy/merge.js';
import { parseFragment } from '../../helper/src/policy/parse.js';
import { basePolicy, mutate, mutationsArb, toYaml } from '../support/policy-mutations.js';

const root = path.resolve(import.meta.dirname, '../..');
const schema = JSON.parse(readFileSync(path.join(root, 'helper/schema/policy.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true }).compile(schema);

/** Reasons only the helper can check; each says why the schema cannot. */
const BEYOND_SCHEMA: { re: RegExp; why: string }[] = [
  { re: /names unknown (server|VM) /, why: 'a reference to another part of the policy' },
  { re: /already used by VM |is already (defined|set) at /, why: 'uniqueness across VMs or files' },
  { re: /`port` and `tls-port` of VM .* must differ/, why: 'a relation between two fields' },
  { re: /: must end after it starts/, why: 'an order between the two halves of `hours`' },
  { re: /^Expected `ports` to be a port or a range like 20000-20999 within 1-65535/, why: 'the bounds and order of a range written as text' },
  { re: /: must be a host name or a literal IPv4\/IPv6 address$/, why: 'label rules and IP literal syntax (the schema checks the characters)' },
  { re: /^Invalid client network /, why: 'address and prefix arithmetic (host bits, prefix length)' },
  { re: /^Invalid guest address /, why: 'address arithmetic (unicast, unspecified)' },
  { re: /: must be at most 255 bytes$/, why: 'a length in UTF-8 bytes (the schema counts characters)' },
];

function helperVerdict(text: string): string[] {
  const parsed = parseFragment('policy.yaml', text);
  return [...parsed.diagnostics, ...mergeFragments([parsed.fragment]).diagnostics].map((d) => d.message);
}

function schemaAccepts(text: string): boolean {
  let data: unknown;
  try {
    data = parse(text, { version: '1.2' });
  } catch {
    return false;
  }
  return validate(data) === true;
}

/** Undefined when the two agree; otherwise what is wrong, with the policy. */
function disagreement(text: string): string | undefined {
  const problems = helperVerdict(text);
  const accepted = schemaAccepts(text);
  if (problems.length === 0 && !accepted) {
    return `the schema rejects a policy the helper accepts: ${JSON.stringify(validate.errors?.map((e) => `${e.instancePath} ${e.message}`))}\n${text}`;
  }
  const stated = problems.filter((m) => !BEYOND_SCHEMA.some((b) => b.re.test(m)));
  if (accepted && problems.length > 0 && stated.length > 0) {
    return `the schema accepts a policy the helper rejects for a reason the schema can state: ${stated.join(' | ')}\n${text}`;
  }
  return undefined;
}

const corpus = [
  ...readdirSync(path.join(root, 'test/fixtures/policies')).map((f) => path.join('test/fixtures/policies', f)),
  ...readdirSync(path.join(root, 'helper/examples')).map((f) => path.join('helper/examples', f)),
].filter((f) => f.endsWith('.yaml'));

test('golden corpus: every fixture and example policy is valid for both', () => {
  assert.ok(corpus.length >= 2, `corpus: ${corpus.join(', ')}`);
  for (const f of corpus) {
    const text = readFileSync(path.join(root, f), 'utf8');
    assert.deepEqual(helperVerdict(text), [], f);
    assert.equal(schemaAccepts(text), true, `${f}: ${JSON.stringify(validate.errors)}`);
  }
  assert.equal(disagreement(toYaml(basePolicy())), undefined);
  assert.deepEqual(helperVerdict(toYaml(basePolicy())), [], 'the generator starts from a valid policy');
});

test('hand-picked drifts the agreement caught once stay agreed (issue 14)', () => {
  const cases: [string, (p: ReturnType<typeof basePolicy>) => void][] = [
    ['a path with a .. segment', (p) => ((p.viewer as Record<string, unknown>).path = '/usr/bin/../bin/sh')],
    ['hours ending after 24:00', (p) => ((p.entitlements as { when?: unknown }[])[1]!.when = { hours: '08:00-24:30' })],
    ['a title with NEL', (p) => (((p.vms as Record<string, Record<string, unknown>>).debianx!).title = 'a\u0085b')],
    ['a title with a line separator', (p) => (((p.vms as Record<string, Record<string, unknown>>).debianx!).title = 'a\u2028b')],
    ['a blank host-subject', (p) => (((p.servers as Record<string, Record<string, unknown>>).mysrv!)['host-subject'] = '   ')],
    ['an all-zero MAC', (p) => ((((p.vms as Record<string, Record<string, unknown>>).debianx!)['bridge-port'] as Record<string, unknown>).mac = '00:00:00:00:00:00')],
  ];
  for (const [what, change] of cases) {
    const p = basePolicy();
    change(p);
    const text = toYaml(p);
    assert.notDeepEqual(helperVerdict(text), [], `${what}: the helper rejects it`);
    assert.equal(schemaAccepts(text), false, `${what}: the schema rejects it too`);
  }
});

test('generated policies: the schema and the helper agree', () => {
  const scale = Number(process.env.FUZZ_RUNS ?? 1);
  const seed = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) };
  const seen = { accepted: 0, rejected: 0, beyond: 0 };
  fc.assert(
    fc.property(mutationsArb, (mutations) => {
      const text = toYaml(mutate(basePolicy(), mutations));
      const problems = helperVerdict(text);
      if (problems.length === 0) seen.accepted++;
      else if (schemaAccepts(text)) seen.beyond++;
      else seen.rejected++;
      const why = disagreement(text);
      assert.equal(why, undefined, why);
    }),
    { numRuns: Math.max(1, Math.round(500 * scale)), endOnFailure: true, ...seed },
  );
  // The generator must reach both verdicts often, or the agreement says little.
  const total = seen.accepted + seen.rejected + seen.beyond;
  assert.ok(seen.accepted > total * 0.1 && seen.rejected > total * 0.3, JSON.stringify(seen));
});
