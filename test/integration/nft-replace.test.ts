// In-place replacement of our nft table against the real kernel: whatever the table held before, the result
// lists exactly like the same table loaded fresh, and sets declared alike change by their differences only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nftListOwned, nftRemove, nftReplace } from '../../helper/src/apply/nft.js';
import type { FirewallModel, Tuple } from '../../helper/src/plan/firewall-model.js';
import { renderNft } from '../../helper/src/plan/nft.js';
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

  /** x → y → x in place must list exactly like y, then x, loaded fresh. */
  const roundTrip = async (x: string, y: string) => {
    const [freshX, freshY] = [await fresh(x), await fresh(y)];
    await fresh(x);
    await nftReplace(run, y);
    assert.equal(await nftListOwned(run), freshY);
    await nftReplace(run, x);
    assert.equal(await nftListOwned(run), freshX);
  };

  test('A → B → A in place lists exactly like B and A loaded fresh', async () => roundTrip(A, B));

  test('the A → B script changes allow_v4 by its differences and refills nothing else of it', async () => {
    const live = await fresh(A);
    const script = replaceScript(live, B);
    assert.match(script, /^delete element inet consolegate allow_v4 \{ 1000 \. 192\.0\.2\.1 \. 20002 \}$/m);
    assert.match(script, /^add element inet consolegate allow_v4 \{ 1003 \. 192\.0\.2\.1 \. 20002, 1004 \. 192\.0\.2\.2 \. 20006 \}$/m);
    assert.doesNotMatch(script, /flush set inet consolegate allow_v4/);
    assert.match(script, /^delete set inet consolegate w1_v4$/m);
    assert.match(script, /^flush set inet consolegate protected$/m);
  });

  test('one uid class of two goes away while the class map stays: its chain is deleted after the map entries that jump to it', async () => {
    // 10 uids × 9 ports each: two classes (plan/nft-classes.ts). Dropping the second keeps the map (changed by its
    // differences), so its chain can go only once the entries jumping to it are gone (else EBUSY).
    const klass = (first: number, port: number): Tuple[] => Array.from({ length: 10 }, (_, u) => Array.from({ length: 9 }, (_, p) => ({ uid: first + u, addr: '192.0.2.1', port: port + p }))).flat();
    const model = (v4: Tuple[]): FirewallModel => ({ viewerGid: 2999, groups: [{ name: 'allow', slots: null, v4, v6: [] }], ports: [{ from: 20000, to: 20999 }], log: false });
    const [two, one] = [renderNft(model([...klass(1000, 20000), ...klass(2000, 20100)])), renderNft(model(klass(1000, 20000)))];
    assert.equal(two.match(/^\tchain allow_c/gm)?.length, 2);
    assert.equal(one.match(/^\tchain allow_c/gm)?.length, 1);
    await roundTrip(two, one);
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
