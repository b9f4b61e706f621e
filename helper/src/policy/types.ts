// The validated policy: what the YAML says, checked, with positions kept for later messages.
import type { TimeWindow } from '../boundary/index.js';
import type { SourcePos } from '../errors.js';

// Days and windows are shared with open-console and the launcher (the console table and views carry them).
export { DAYS, type Day, type TimeWindow } from '../boundary/index.js';

/** An inclusive TCP port range. */
export interface PortRange {
  from: number;
  to: number;
}

export interface Server {
  id: string;
  host: string;
  ca: string;
  hostSubject: string;
  pos: SourcePos;
}

export interface Vm {
  id: string;
  server: string;
  tlsPort: number;
  port: number | null;
  title: string;
  pos: SourcePos;
  /** Host mode only (the client ignores it): the guest's port on the hypervisor's bridge. */
  bridgePort?: BridgePort;
  /** Host mode only: the libvirt domain to read when `bridgePort` lacks name or MAC (default: the VM id). */
  domain?: string;
}

/** A guest's bridge port: frames entering from `name` must carry `mac` and one of `ips`. Unset parts come from libvirt. */
export interface BridgePort {
  name: string | null;
  mac: string | null;
  ips: { family: 4 | 6; text: string }[];
  pos: SourcePos;
}

/** A managed client network or address allowed to reach console ports on the hypervisor (host mode). */
export interface ClientNet {
  family: 4 | 6;
  text: string;
  pos: SourcePos;
}

export interface Entitlement {
  vm: string;
  users: { name: string; pos: SourcePos }[];
  groups: { name: string; pos: SourcePos }[];
  when: TimeWindow | null;
  pos: SourcePos;
}

/** The whole policy after parsing and merging every file. */
export interface Policy {
  viewer: { path: string; group: string };
  firewall: { backend: 'auto' | 'nftables' | 'iptables'; protect: PortRange[]; log: boolean };
  servers: Map<string, Server>;
  vms: Map<string, Vm>;
  entitlements: Entitlement[];
  files: string[];
  /** Host mode only: the managed clients; absent or empty means no client may reach a console. */
  clients?: ClientNet[];
}
