// Benchmark: parsing one policy file (YAML text → fragment with every position) at 100,000 entitlements, per shape.
// Run: node --import tsx bench/parse.ts [entitlements]
import { performance } from 'node:perf_hooks';
import { parseFragment } from '../helper/src/policy/parse.js';
import { policyBody, sizesFor, type Shape } from './support/policy-gen.js';
import { fmtMs, median } from './support/report.js';

const n = Number(process.argv[2] ?? 100_000);
for (const shape of ['per-vm', 'per-pair'] as Shape[]) {
  const text = policyBody(sizesFor(n), shape).replaceAll('$CA', '/etc/consolegate/ca.pem');
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    const { fragment, diagnostics } = parseFragment('bench.yaml', text);
    times.push(performance.now() - t0);
    if (diagnostics.length > 0 || fragment.entitlements.length === 0) throw new Error(`${shape}: the generated policy did not parse: ${diagnostics[0]?.message}`);
  }
  console.log(`parse ${shape} ${n} entitlements (${(text.length / 1e6).toFixed(2)} MB): median ${fmtMs(median(times))} of 5 [${times.map((t) => t.toFixed(0)).join(', ')} ms]`);
}
