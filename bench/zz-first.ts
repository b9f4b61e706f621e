import { exec } from '../helper/src/system/exec.js';
import { World } from './support/world.js';
import { sizesFor, policyBody } from './support/policy-gen.js';
const s = sizesFor(100_000);
const w = await World.create(s.users + 1);
const V: Record<string, string> = JSON.parse(process.env.VARIANTS!);
const res: Record<string, number[]> = {};
const img = `${w.sb.dir}/st.img`;
try {
  await w.sb.writePolicy(w.sb.policy(policyBody(s, 'per-vm'), { backend: 'nftables' }));
  const m = await exec(['sh', '-c', 'truncate -s 1G "$0" && mkfs.ext4 -q -F -O has_journal "$0" && mount -o loop "$0" "$1" && chmod 755 "$1"', img, w.sb.stateDir]);
  if (m.code !== 0) throw new Error(m.stderr);
  const run = async (label: string, v: string, args: string[], prof = false) => {
    const t0 = performance.now();
    const r = await w.run(['node', ...(prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/cg/prof', `--cpu-prof-name=first-${v}.cpuprofile`] : []), V[v]!, ...args]);
    const ms = performance.now() - t0;
    if (r.code !== 0) throw new Error(`${label} ${v}: ${r.stderr}`);
    (res[`${label} ${v}`] ??= []).push(ms);
  };
  await run('warm', Object.keys(V)[0]!, ['apply']);
  for (let i = 0; i < Number(process.env.ROUNDS ?? 3); i++) {
    const keys = Object.keys(V); if (i % 2) keys.reverse();
    for (const v of keys) { await run('remove', v, ['remove']); await run('first', v, ['apply'], i === 0 && !!process.env.PROF); }
  }
} finally { await exec(['umount', w.sb.stateDir]); await w.cleanup(); }
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]!;
for (const [k, v] of Object.entries(res).sort()) console.log(`${k.padEnd(24)} median ${med(v).toFixed(0)} ms  (${v.map((x) => x.toFixed(0)).join(', ')})`);
