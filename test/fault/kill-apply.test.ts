// kill -9 of `apply` at random moments, switching between two policies (issue 6). What "old or new" means here:
//
// - Each firewall load is one kernel transaction and every file is replaced by rename, so each unit of state
//   (our nft table, our iptables chain, our ip6tables chain, state.json, the sudoers file, the console table,
//   each view file) is always exactly its old or its new content: never a mix, never a third thing. That is
//   asserted for every trial.
// - Across units there is no transaction (kill -9 allows no rollback): a kill between the firewall load and the
//   last rename leaves some units old and some new. Then `status` must say so for both policies: it names
//   exactly the parts that differ from the policy it is given, and says "in sync" for a policy only when every
//   part is that policy's. A re-apply (the next trial starts with one) must always converge.
// - Throughout, non-entitled probes (with their own group and with the viewer group) never connect, while
//   they do reach an unprotected control port.
import assert from 'node:assert/strict';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';
import { classify, differingParts, fakeTools, namespacePids, observe, runHelper, spawnHelper, startProbe, status, waitForStrays, type HelperRun, type Observed, type Probe } from './support/harness.js';

const unavailable = await rootTestsUnavailable();
const TRIALS = Number(process.env.FAULT_KILL_TRIALS ?? 60);
const CONTROL_PORT = 21000;

/** Policy pairs: the same VMs, different people; the last pair also switches backend. */
const PAIRS = [
  { name: 'nftables', backends: ['nftables', 'nftables'], share: 0.6 },
  { name: 'iptables', backends: ['iptables', 'iptables'], share: 0.25 },
  { name: 'nftables ↔ iptables', backends: ['nftables', 'iptables'], share: 0.15 },
] as const;

describe('kill -9 of apply at random points', { skip: unavailable ?? false }, () => {
  let sb: Sandbox;
  let alice: TestUser, bob: TestUser, carol: TestUser, mallory: TestUser;
  const probes: Probe[] = [];
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);
  let rnd = seed;
  // A small deterministic PRNG so a failing run can be repeated with FAULT_SEED.
  const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  before(async () => {
    sb = await Sandbox.create();
    [alice, bob, carol, mallory] = [await sb.addUser('a'), await sb.addUser('b'), await sb.addUser('c'), await sb.addUser('m')];
    await sb.listen([20002, 20004, 20006, CONTROL_PORT]);
  });
  after(async () => {
    for (const p of probes.splice(0)) await p.stop().catch(() => undefined);
    await sb?.cleanup();
  });

  const policy = (which: 'A' | 'B', backend: 'nftables' | 'iptables') =>
    sb.policy(
      `servers:
  s4: { host: 127.0.0.1, ca: $CA, host-subject: "CN=s4" }
  s6: { host: "::1", ca: $CA, host-subject: "CN=s6" }
vms:
  vm1: { server: s4, tls-port: 20002, title: "${which === 'A' ? 'One' : 'Uno'}" }
  vm2: { server: s4, tls-port: 20004 }
  vm3: { server: s6, tls-port: 20006 }
entitlements:
${
  which === 'A'
    ? `  - { vm: vm1, users: [${alice.name}] }
  - { vm: vm2, users: [${bob.name}] }
  - { vm: vm3, users: [${alice.name}, ${bob.name}] }`
    : `  - { vm: vm1, users: [${bob.name}, ${carol.name}] }
  - { vm: vm2, users: [${alice.name}], when: { days: [Mon, Tue, Wed, Thu, Fri], hours: "07:00-19:00" } }
  - { vm: vm3, users: [${carol.name}] }`
}
`,
      { backend },
    );

  test(`${TRIALS} kills leave every part old or new, status names the mixed parts, probes never connect`, async (t) => {
    t.diagnostic(`seed ${seed} (FAULT_SEED=${seed} repeats this run)`);
    // Kills at uniformly random times mostly land before the first change (node start-up, parsing, visudo):
    // so most trials anchor on the firewall load instead. Wrappers mark when `nft -f` / `*-restore` start,
    // then exec the real tool; the kill comes at a random moment between that and the end of apply.
    const mark = path.join(sb.dir, 'load-started');
    const wrap = (tool: string, cond: string) => `${cond}: > "$CG_LOAD_MARK"\nexec /usr/sbin/${tool} "$@"`;
    const run: HelperRun = {
      env: {
        ...(await fakeTools(sb, 'marks', {
          nft: wrap('nft', '[[ " $* " == *" -f "* ]] && '),
          'iptables-restore': wrap('iptables-restore', ''),
          'ip6tables-restore': wrap('ip6tables-restore', ''),
        })),
        CG_LOAD_MARK: mark,
      },
    };
    const marked = async () => stat(mark).then(() => true, () => false);
    // Reference states: what each policy looks like when fully applied, per pair.
    const refs = new Map<string, { files: [string, string]; obs: [Observed, Observed]; ms: number; tailMs: number }>();
    for (const [n, pair] of PAIRS.entries()) {
      const files = (['A', 'B'] as const).map((w) => path.join(sb.dir, `pair${n}-${w}.yaml`)) as [string, string];
      await writeFile(files[0], policy('A', pair.backends[0]), { mode: 0o600 });
      await writeFile(files[1], policy('B', pair.backends[1]), { mode: 0o600 });
      const obs: Observed[] = [];
      const times: number[] = [];
      const tails: number[] = [];
      for (const f of [...files, ...files]) {
        await rm(mark, { force: true });
        const t0 = performance.now();
        const { done } = spawnHelper(sb, ['apply', '--policy', f], run);
        let markAt = NaN;
        let finished = false;
        void done.then(() => (finished = true));
        while (!finished) {
          if (Number.isNaN(markAt) && (await marked())) markAt = performance.now();
          await new Promise((res) => setTimeout(res, 1));
        }
        const r = await done;
        const end = performance.now();
        times.push(end - t0);
        if (!Number.isNaN(markAt)) tails.push(end - markAt);
        assert.equal(r.code, 0, r.stderr);
        obs.push(await observe(sb));
      }
      // Applying the same policy twice must give the same observation, or the comparisons below mean nothing.
      assert.deepEqual(differingParts(obs[2]!, obs[0]!), [], `${pair.name}: A is not reproducible`);
      assert.deepEqual(differingParts(obs[3]!, obs[1]!), [], `${pair.name}: B is not reproducible`);
      assert.notDeepEqual(differingParts(obs[0]!, obs[1]!), [], `${pair.name}: A and B must differ`);
      assert.ok(tails.length >= 2, `${pair.name}: the load wrappers never ran; PATH is not honoured`);
      refs.set(pair.name, { files, obs: [obs[0]!, obs[1]!], ms: Math.max(...times), tailMs: Math.max(...tails) });
    }

    // Probes start once the viewer group exists; they run through every trial.
    const viewerGid = await sb.viewerGid();
    const targets = ['127.0.0.1:20002', '127.0.0.1:20004', '[::1]:20006', '::1:20002'].map((x) => x.replace(/^\[(.*)\]/, '$1'));
    probes.push(await startProbe(sb, mallory, viewerGid, CONTROL_PORT, targets));
    probes.push(await startProbe(sb, mallory, mallory.gid, CONTROL_PORT, targets));
    const keep = await namespacePids(sb);

    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    for (let trial = 0; trial < TRIALS; trial++) {
      const r = random();
      let acc = 0;
      const pair = PAIRS.find((p) => (acc += p.share) > r) ?? PAIRS[0];
      const ref = refs.get(pair.name)!;
      const [from, to]: [0 | 1, 0 | 1] = random() < 0.5 ? [0, 1] : [1, 0];
      const where = `trial ${trial + 1} (${pair.name}, ${from ? 'B→A' : 'A→B'})`;

      // Start clean in the old state: this is also the "re-apply converges" check for the previous trial.
      const clean = await runHelper(sb, ['apply', '--policy', ref.files[from]], run);
      assert.equal(clean.code, 0, `${where}: clean apply failed: ${clean.stderr}`);
      assert.deepEqual(differingParts(await observe(sb), ref.obs[from]), [], `${where}: a clean apply did not restore the old state`);

      const anchored = random() < 0.7;
      const delay = random() * (anchored ? ref.tailMs : ref.ms) * 1.1;
      await rm(mark, { force: true });
      const { child, done } = spawnHelper(sb, ['apply', '--policy', ref.files[to]], run);
      let finished = false;
      void done.then(() => (finished = true));
      if (anchored) while (!finished && !(await marked())) await new Promise((res) => setTimeout(res, 1));
      await new Promise((res) => setTimeout(res, delay));
      child.kill('SIGKILL');
      const killed = await done;
      const strays = await waitForStrays(sb, keep);
      assert.deepEqual(strays, [], `${where}: processes of the killed apply still running after 15 s`);

      const o = await observe(sb);
      const units = classify(o, ref.obs[from], ref.obs[to]);
      const neither = Object.entries(units).filter(([, v]) => v === 'neither');
      assert.deepEqual(neither, [], `${where}: killed ${delay.toFixed(0)} ms after ${anchored ? 'the load started' : 'the start'}, these parts are neither old nor new:\n${neither.map(([k]) => k).join('\n')}\n${o.nft}\n${o.ipv4}\n${o.ipv6}`);
      assert.deepEqual(o.sudoersIncluded, ['consolegate'], `${where}: sudo would read ${o.sudoersIncluded.join(', ')}`);

      const sOld = await status(sb, ref.files[from], run);
      const sNew = await status(sb, ref.files[to], run);
      const offOld = differingParts(o, ref.obs[from]);
      const offNew = differingParts(o, ref.obs[to]);
      for (const [s, off, name] of [[sOld, offOld, 'old'], [sNew, offNew, 'new']] as const) {
        assert.equal(s.code, off.length === 0 ? 0 : 3, `${where}: status with the ${name} policy exited ${s.code}, but these parts differ from it: [${off.join(', ')}]\n${s.raw}`);
        assert.deepEqual(s.drift, [...off].sort(), `${where}: status with the ${name} policy names [${s.drift.join(', ')}], the parts that differ are [${off.join(', ')}]\n${s.raw}`);
      }
      const outcome = offOld.length === 0 ? 'old' : offNew.length === 0 ? 'new' : `mixed (old: ${offNew.join('+')})`;
      count(`${outcome}${killed.code === 0 ? ' (apply had finished)' : ''}${anchored ? '' : ' [uniform]'}`);
    }

    // The last trial's mess must converge too.
    const last = refs.get(PAIRS[0].name)!;
    assert.equal((await runHelper(sb, ['apply', '--policy', last.files[1]], run)).code, 0);
    assert.deepEqual(differingParts(await observe(sb), last.obs[1]), [], 'a final apply did not converge');

    const results = await Promise.all(probes.splice(0).map((p) => p.stop()));
    t.diagnostic(`outcomes: ${[...outcomes].map(([k, v]) => `${v}× ${k}`).join('; ')}`);
    // Kills that all land before the first change would prove nothing about the interesting moments.
    const changed = [...outcomes].filter(([k]) => !k.startsWith('old')).reduce((a, [, v]) => a + v, 0);
    assert.ok(changed >= TRIALS / 10, `only ${changed} of ${TRIALS} kills came after apply had changed anything`);
    t.diagnostic(`probes: ${results.map((r) => `${r.cycles} cycles, ${r.control} control connects`).join('; ')}`);
    for (const r of results) assert.ok(r.control >= TRIALS, `the probe loop barely ran (${r.control} control connects); it proves nothing`);
    // This failed in about half the runs while the table was deleted and re-created on every load; see
    // helper/src/plan/nft-replace.ts and replace-window.test.ts.
    assert.deepEqual(results.flatMap((r) => r.violations), [], 'a non-entitled process connected to a protected port');
  });
});
