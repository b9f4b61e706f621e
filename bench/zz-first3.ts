import { exec } from '../helper/src/system/exec.js';
import { World } from './support/world.js';
import { sizesFor, policyBody } from './support/policy-gen.js';
const s = sizesFor(100_000);
const w = await World.create(s.users + 1);
const img = `${w.sb.dir}/st.img`;
try {
  await w.sb.writePolicy(w.sb.policy(policyBody(s, 'per-vm'), { backend: 'nftables' }));
  const m = await exec(['sh', '-c', 'truncate -s 1G "$0" && mkfs.ext4 -q -F -O has_journal "$0" && mount -o loop "$0" "$1" && chmod 755 "$1"', img, w.sb.stateDir]);
  if (m.code !== 0) throw new Error(m.stderr);
  await w.run(['node', process.env.HELPER!, 'apply']);
  for (let i = 0; i < Number(process.env.ROUNDS ?? 2); i++) {
    await w.run(['node', process.env.HELPER!, 'remove']);
    const t0 = performance.now();
    const r = await w.run([...(process.env.PERF ? ["perf", "record", "-F", "999", "-g", "-o", `/tmp/cg/perf.${i}`, "--"] : []), "/usr/bin/time", "-f", "TIME %e s %U user %S sys", "node", ...(process.env.NODEFLAGS ?? "").split(" ").filter(Boolean), process.env.HELPER!, "apply"]); { const ls = r.stderr.split("\n").filter((l) => /^T /.test(l)).map((l) => l.split(" ")); const t0 = Number(ls.find((l) => l[1] === "main")?.[2] ?? 0); console.log(ls.map((l) => `${l[1]} +${Number(l[2]) - t0}`).join(" | ")); console.log(r.stderr.match(/TIME.*/)?.[0]); }
    console.log(`first ${(performance.now() - t0).toFixed(0)} ms`, r.code);
  }
} finally { await exec(['umount', w.sb.stateDir]); await w.cleanup(); }
