// The protected ports: every `protect` range and every port a VM names, merged into disjoint ranges.
import type { Policy, PortRange } from '../policy/types.js';

/** Disjoint, sorted ranges; adjacent ranges are joined (nft rejects overlapping interval elements). */
export function protectedPorts(policy: Policy): PortRange[] {
  const all: PortRange[] = [...policy.firewall.protect];
  for (const vm of policy.vms.values()) {
    all.push({ from: vm.tlsPort, to: vm.tlsPort });
    if (vm.port !== null) all.push({ from: vm.port, to: vm.port });
  }
  return mergeRanges(all);
}

/** Disjoint, sorted ranges; adjacent and overlapping ones joined. */
export function mergeRanges(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}
