// Fragments → one Policy: defaults, "defined once" rules, and the cross-reference checks.
import { formatPos, type Diagnostic } from '../errors.js';
import { checkBridgePorts } from './host-parse.js';
import type { Fragment, Located } from './parse.js';
import type { Policy, PortRange, Server, Vm } from './types.js';

/** Defaults for what a policy may leave out. */
export const POLICY_DEFAULTS = {
  viewerPath: '/usr/bin/remote-viewer',
  viewerGroup: 'spicegrp',
  backend: 'auto',
  log: true,
} as const;

/** Merges fragments in the given order (main file first, then policy.d by name) and checks references. */
export function mergeFragments(fragments: Fragment[]): { policy: Policy; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const once = <T>(pick: (f: Fragment) => Located<T> | undefined, what: string): Located<T> | undefined => {
    let first: Located<T> | undefined;
    for (const f of fragments) {
      const v = pick(f);
      if (!v) continue;
      if (first) diagnostics.push({ pos: v.pos, message: `${what} is already set at ${formatPos(first.pos)}; set it in one file only` });
      else first = v;
    }
    return first;
  };
  const viewerPath = once((f) => f.viewerPath, '`viewer.path`');
  const viewerGroup = once((f) => f.viewerGroup, '`viewer.group`');
  const backend = once((f) => f.backend, '`firewall.backend`');
  const log = once((f) => f.log, '`firewall.log`');

  const servers = new Map<string, Server>();
  const vms = new Map<string, Vm>();
  for (const f of fragments) {
    for (const s of f.servers) {
      const prev = servers.get(s.id);
      if (prev) diagnostics.push({ pos: s.pos, message: `Server \`${s.id}\` is already defined at ${formatPos(prev.pos)}` });
      else servers.set(s.id, s);
    }
    for (const vm of f.vms) {
      const prev = vms.get(vm.id);
      if (prev) diagnostics.push({ pos: vm.pos, message: `VM \`${vm.id}\` is already defined at ${formatPos(prev.pos)}` });
      else vms.set(vm.id, vm);
    }
  }

  const usedPorts = new Map<string, Vm>();
  for (const vm of vms.values()) {
    if (!servers.has(vm.server)) {
      diagnostics.push({ pos: vm.pos, message: `VM \`${vm.id}\` names unknown server \`${vm.server}\`` });
      continue;
    }
    for (const port of [vm.tlsPort, vm.port]) {
      if (port === null || port === 0) continue;
      const key = `${vm.server}:${port}`;
      const other = usedPorts.get(key);
      if (other) diagnostics.push({ pos: vm.pos, message: `VM \`${vm.id}\` uses port ${port} of server \`${vm.server}\`, already used by VM \`${other.id}\`` });
      else usedPorts.set(key, vm);
    }
  }

  diagnostics.push(...checkBridgePorts(vms.values()));

  const entitlements = fragments.flatMap((f) => f.entitlements);
  for (const e of entitlements) {
    if (!vms.has(e.vm)) diagnostics.push({ pos: e.pos, message: `Entitlement names unknown VM \`${e.vm}\`` });
  }

  const protect: PortRange[] = fragments.flatMap((f) => f.protect.map(({ from, to }) => ({ from, to })));
  const policy: Policy = {
    viewer: { path: viewerPath?.value ?? POLICY_DEFAULTS.viewerPath, group: viewerGroup?.value ?? POLICY_DEFAULTS.viewerGroup },
    firewall: { backend: backend?.value ?? POLICY_DEFAULTS.backend, protect, log: log?.value ?? POLICY_DEFAULTS.log },
    servers,
    vms,
    entitlements: entitlements.filter((e) => vms.has(e.vm)),
    files: fragments.map((f) => f.file),
    clients: fragments.flatMap((f) => f.clients ?? []),
  };
  return { policy, diagnostics };
}
