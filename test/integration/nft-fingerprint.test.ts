// Issue 13: drift is judged without listing our table after each load, by comparing what was loaded (its elements as
// we rendered them, its skeleton as nft's terse listing spells it) with a later listing. That only works if our
// rendering and nft's listing agree once normalised: loaded into a real kernel and listed, they must, for every
// construct we render; and one element more must show.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FirewallModel, Tuple } from '../../helper/src/plan/firewall-model.js';
import { nftElements, nftSkeleton } from '../../helper/src/plan/nft-fingerprint.js';
import { renderNft } from '../../helper/src/plan/nft.js';
import { rootTestsUnavailable, Sandbox } from '../support/sandbox.js';

const unavailable = await rootTestsUnavailable();

const tuples = (n: number, addr: string, from = 0): Tuple[] => Array.from({ length: n }, (_, i) => ({ uid: 3_000_000 + from + i, addr, port: 20000 + (i % 7) }));
/** 10 uids × 9 endpoints (8 IPv4, 1 IPv6 spelled loosely): rendered as a uid class (plan/nft-classes.ts). */
const classTuples = (from: number): { v4: Tuple[]; v6: Tuple[] } => {
  const uids = Array.from({ length: 10 }, (_, i) => 3_100_000 + from + i);
  return {
    v4: uids.flatMap((uid) => Array.from({ length: 8 }, (_, p) => ({ uid, addr: '127.0.0.1', port: 21000 + p }))),
    v6: uids.map((uid) => ({ uid, addr: '2001:DB8::B', port: 21008 })),
  };
};

/** Everything the renderer can emit: windows (days and hours, hours only), IPv6 spelled loosely, adjacent port ranges. */
const MODEL: FirewallModel = {
  viewerGid: 2999,
  log: true,
  ports: [
    { from: 22, to: 22 },
    { from: 5900, to: 5949 },
    { from: 5950, to: 5999 },
    { from: 20000, to: 20999 },
  ],
  groups: [
    {
      name: 'allow',
      slots: null,
      v4: [...tuples(300, '127.0.0.1'), ...classTuples(0).v4],
      v6: [...tuples(5, 'fd00:0:0::1'), ...tuples(3, '2001:DB8::A', 10), ...classTuples(0).v6],
    },
    {
      name: 'window1',
      slots: [
        { days: [0, 1, 2], start: 480, end: 1080 },
        { days: [0, 1, 2, 3, 4, 5, 6], start: 0, end: 600 },
      ],
      v4: [...tuples(3, '10.0.0.2'), ...classTuples(100).v4],
      v6: [...tuples(2, '::1'), ...classTuples(100).v6],
    },
  ],
};

describe('our rendering and nft\'s listing fingerprint alike', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await Sandbox.create();
  });
  after(async () => sb?.cleanup());

  const nft = async (args: string[], input?: string) => {
    const r = await sb.run(['nft', ...args], { input, env: { TZ: 'UTC' } });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  for (const log of [true, false]) {
    test(`loaded and listed (log ${log}): same elements; the full listing's skeleton is the terse one's`, async () => {
      const text = renderNft({ ...MODEL, log });
      assert.match(text, /meta skuid vmap @allow_classes/);
      assert.match(text, /meta skuid vmap @window1_classes/);
      await nft(['-f', '-'], `${text}`);
      const listing = await nft(['-s', 'list', 'table', 'inet', 'consolegate']);
      const terse = await nft(['-s', '-t', 'list', 'ruleset']);
      const ours = terse.slice(terse.indexOf('table inet consolegate {'));
      assert.equal(nftElements(listing), nftElements(text));
      assert.equal(nftSkeleton(listing), nftSkeleton(ours.slice(0, ours.indexOf('\n}\n') + 3)));

      // One element more, or one port less, is a different table.
      await nft(['add', 'element', 'inet', 'consolegate', 'allow_v4', '{ 4000000 . 127.0.0.1 . 20000 }']);
      assert.notEqual(nftElements(await nft(['-s', 'list', 'table', 'inet', 'consolegate'])), nftElements(text));
      await nft(['delete', 'element', 'inet', 'consolegate', 'allow_v4', '{ 4000000 . 127.0.0.1 . 20000 }']);
      await nft(['delete', 'element', 'inet', 'consolegate', 'protected', '{ 22 }']);
      assert.notEqual(nftElements(await nft(['-s', 'list', 'table', 'inet', 'consolegate'])), nftElements(text));
      // So does one class member more.
      const chain = /jump (allow_c[0-9a-f]+)/.exec(text)![1]!;
      await nft(['add', 'element', 'inet', 'consolegate', 'allow_classes', `{ 4000000 : jump ${chain} }`]);
      assert.notEqual(nftElements(await nft(['-s', 'list', 'table', 'inet', 'consolegate'])), nftElements(text));
      // A rule more changes the skeleton, even one nft spells its own way.
      await nft(['insert', 'rule', 'inet', 'consolegate', 'output', 'meta', 'skuid', '4000000', 'accept']);
      assert.notEqual(nftSkeleton(await nft(['-s', 'list', 'table', 'inet', 'consolegate'])), nftSkeleton(listing));
      await nft(['delete', 'table', 'inet', 'consolegate']);
    });
  }
});
