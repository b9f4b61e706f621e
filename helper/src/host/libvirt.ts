// What libvirt already knows about a VM (`virsh dumpxml`): its bridge ports (name, MAC, addresses) and console ports.
// Everything read is checked like policy values before it can reach a rule.
import { checkIfname, checkMac, parseGuestAddress } from '../policy/host-names.js';
import { hasCommand, type Exec } from '../system/exec.js';
import { child, childrenNamed, parseXml } from './xml.js';

/** One `<interface>` of a domain, as far as it is usable. */
export interface DomainInterface {
  /** `<target dev=…>`: only present while the domain runs. */
  dev: string | null;
  mac: string | null;
  /** `<source bridge=…>` or `<source network=…>`, for messages. */
  source: string | null;
  /** `<ip address=…>` children and the nwfilter `IP`/`IPV6` parameters. */
  ips: { family: 4 | 6; text: string }[];
}

/** The parts of a domain host mode uses. */
export interface DomainInfo {
  name: string;
  interfaces: DomainInterface[];
  /** Allocated SPICE/VNC `port` and `tlsPort` values (absent or -1 when not allocated). */
  consolePorts: number[];
  /** Values that failed the checks and were ignored. */
  rejected: string[];
}

/** Parses `virsh dumpxml` output; throws on malformed XML or a document that is not a `<domain>`. */
export function parseDomainXml(xml: string): DomainInfo {
  const dom = parseXml(xml);
  if (dom.name !== 'domain') throw new Error(`expected a <domain> document, got <${dom.name}>`);
  const rejected: string[] = [];
  const name = child(dom, 'name')?.text.trim() ?? '';
  const devices = child(dom, 'devices');
  const interfaces: DomainInterface[] = [];
  const consolePorts: number[] = [];
  for (const itf of devices ? childrenNamed(devices, 'interface') : []) {
    const type = itf.attrs.get('type') ?? '';
    if (type !== 'bridge' && type !== 'network') continue; // user-mode, direct (macvtap) and hostdev ports are not on a bridge we filter
    const dev = checked(child(itf, 'target')?.attrs.get('dev'), checkIfname, 'interface name', rejected);
    const macText = child(itf, 'mac')?.attrs.get('address');
    const mac = checked(macText, checkMac, 'MAC', rejected)?.toLowerCase() ?? null;
    const source = child(itf, 'source');
    const ips: DomainInterface['ips'] = [];
    const addIp = (text: string | undefined) => {
      if (text === undefined) return;
      const p = parseGuestAddress(text);
      if (typeof p === 'string') rejected.push(`address ${JSON.stringify(text)}: ${p}`);
      else if (!ips.some((i) => i.text === p.text)) ips.push(p);
    };
    for (const ip of childrenNamed(itf, 'ip')) addIp(ip.attrs.get('address'));
    const filter = child(itf, 'filterref');
    for (const param of filter ? childrenNamed(filter, 'parameter') : []) {
      if (['IP', 'IPV6'].includes(param.attrs.get('name') ?? '')) addIp(param.attrs.get('value'));
    }
    interfaces.push({ dev, mac, source: source?.attrs.get('bridge') ?? source?.attrs.get('network') ?? null, ips });
  }
  for (const g of devices ? childrenNamed(devices, 'graphics') : []) {
    for (const attr of ['port', 'tlsPort']) {
      const v = g.attrs.get(attr);
      if (v === undefined || v === '-1') continue;
      const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
      if (n >= 1 && n <= 65535) consolePorts.push(n);
      else rejected.push(`graphics ${attr} ${JSON.stringify(v)}`);
    }
  }
  return { name, interfaces, consolePorts: [...new Set(consolePorts)].sort((a, b) => a - b), rejected };
}

function checked(v: string | undefined, check: (s: string) => string | null, what: string, rejected: string[]): string | null {
  if (v === undefined) return null;
  const why = check(v);
  if (why === null) return v;
  rejected.push(`${what} ${JSON.stringify(v).slice(0, 80)}: ${why}`);
  return null;
}

/** Reads libvirt; null when libvirt is not there (no `virsh`), a reason string when the domain cannot be read. */
export type DomainReader = (domain: string) => Promise<DomainInfo | string | null>;

/** The real reader: `virsh dumpxml` (the running definition when the domain runs, with its port names). */
export function virshReader(run: Exec, virsh = 'virsh'): DomainReader {
  let present: Promise<boolean> | null = null;
  return async (domain) => {
    present ??= hasCommand(virsh);
    if (!(await present)) return null;
    const r = await run([virsh, '--quiet', 'dumpxml', '--domain', domain], { env: { ...process.env, LC_ALL: 'C' } });
    if (r.code !== 0) return `virsh dumpxml ${domain}: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? `exit ${r.code}`}`;
    try {
      return parseDomainXml(r.stdout);
    } catch (err) {
      return `virsh dumpxml ${domain}: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
}
