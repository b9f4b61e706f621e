// In-place replacement of our nft table against the real kernel: whatever the table held before, the result
// lists exactly like the same table loaded fresh, and sets declared alike change by their differences only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nftListOwned, nftRemove, nftReplace } from '../../helper/src/apply/nft.js';
import { replaceScript } from '../../helper/src/plan/nft-replace.js';
import { exec, type Exec } from '../../helper/src/system/exec.js';
import { rootTestsUnavailable, Sandbox } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

const table = (sets: Record<string, string[]>, rules: string[]) =>
  [
    'table inet consolegate {',
    ...Object.entries(sets).flatMap(([name, els]) => [`\tset ${name} {`, `\t\ttype uid . ${name.endsWith('6') ? 'ipv6' : 'ipv4'}_addr . inet_service`, ...(els.length ? [`\t\telements = { ${els.join(', ')} }`] : []), '\t}', '']),
    '\tset protected {',
    '\t\ttype inet_service',
    '\t\tflags interval',
    '\t\telements = { 20000-20010, 20100 }',
    '\t}',
    '',
    '\tchain output {',
    '\t\ttype filter hook output priority filter; policy accept;',
    ...rules.map((r) => `\t\t${r}`),
    '\t\ttcp dport @protected reject with tcp reset',
    '\t}',
    '}',
    '',
  ].join('\n');

const A = table({ allow_v4: ['1000 . 192.0.2.1 . 20002', '1001 . 192.0.2.1 . 20002'], allow_v6: ['1000 . 2001:db8::1 . 20002'], w1_v4: ['1002 . 192.0.2.1 . 20004'] }, ['meta skuid . ip daddr . tcp dport @allow_v4 accept', 'meta skuid . ip6 daddr . tcp dport @allow_v6 accept', 'meta hour "07:00"-"18:59:59" meta skuid . ip daddr . tcp dport @w1_v4 accept']);
const B = table({ allow_v4: ['1001 . 192.0.2.1 . 20002', '1003 . 192.0.2.1 . 20002', '1004 . 192.0.2.2 . 20006'], allow_v6: [], w2_v4: ['1002 . 192.0.2.1 . 20004'] }, ['meta skuid . ip daddr . tcp dport @allow_v4 accept', 'meta skuid . ip6 daddr . tcp dport @allow_v6 accept', 'meta day { "Monday" } meta skuid . ip daddr . tcp dport @w2_v4 accept']);

describe('nft in-place replacement (kernel)', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let run: Exec;
  before(async () => {
    sb = await Sandbox.create();
    run = (argv, options) => exec(['ip', 'netns', 'exec', sb.ns, ...argv], { ...options, env: { ...process.env, TZ: 'UTC' } });
  });
  after(async () => sb?.cleanup());

  const fresh = async (t: string) => {
    await nftRemove(run);
    await nftReplace(run, t);
    return (await nftListOwned(run))!;
  };

  test('A → B → A in place lists exactly like B and A loaded fresh', async () => {
    const [freshA, freshB] = [await fresh(A), await fresh(B)];
    await fresh(A);
    await nftReplace(run, B);
    assert.equal(await nftListOwned(run), freshB);
    await nftReplace(run, A);
    assert.equal(await nftListOwned(run), freshA);
  });

  test('the A → B script changes allow_v4 by its differences and refills nothing else of it', async () => {
    const live = await fresh(A);
    const script = replaceScript(live, B);
    assert.match(script, /^delete element inet consolegate allow_v4 \{ 1000 \. 192\.0\.2\.1 \. 20002 \}$/m);
    assert.match(script, /^add element inet consolegate allow_v4 \{ 1003 \. 192\.0\.2\.1 \. 20002, 1004 \. 192\.0\.2\.2 \. 20006 \}$/m);
    assert.doesNotMatch(script, /flush set inet consolegate allow_v4/);
    assert.match(script, /^delete set inet consolegate w1_v4$/m);
    assert.match(script, /^flush set inet consolegate protected$/m);
  });

  test('a table edited outside consolegate (extra chain, extra element, switched off) is put back exactly', async () => {
    const clean = await fresh(A);
    const r = await run(['nft', '-f', '-'], { input: 'add chain inet consolegate sneaky\nadd rule inet consolegate sneaky accept\nadd rule inet consolegate output jump sneaky\nadd element inet consolegate allow_v4 { 4242 . 192.0.2.1 . 20002 }\nadd table inet consolegate { flags dormant; }\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match((await nftListOwned(run))!, /flags dormant/);
    await nftReplace(run, A);
    assert.equal(await nftListOwned(run), clean);
  });
});
