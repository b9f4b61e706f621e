// One YAML file → a fragment of the policy, with every problem reported at file:line:col.
import type { Diagnostic, SourcePos } from '../errors.js';
import { checkAccount, checkDirectoryName, checkHost, checkId, checkPath, checkText } from './names.js';
import { readBridgePort, readClients, readDomain } from './host-parse.js';
import { Reader, isScalar, printable } from './reader.js';
import { DAYS, type ClientNet, type Day, type Entitlement, type PortRange, type Server, type TimeWindow, type Vm } from './types.js';
import { parseHours } from '../boundary/index.js';
import { parseYamlTree, type YNode } from './yaml-tree.js';

/** A value and where it was written, for "defined twice" messages. */
export interface Located<T> {
  value: T;
  pos: SourcePos;
}

/** What one file contributes; merge.ts combines fragments. */
export interface Fragment {
  file: string;
  viewerPath?: Located<string>;
  viewerGroup?: Located<string>;
  backend?: Located<'auto' | 'nftables' | 'iptables'>;
  log?: Located<boolean>;
  protect: (PortRange & { pos: SourcePos })[];
  servers: Server[];
  vms: Vm[];
  entitlements: Entitlement[];
  /** Host mode: managed client networks (lists from several files add up). */
  clients?: ClientNet[];
}

const TOP_KEYS = ['version', 'viewer', 'firewall', 'servers', 'vms', 'entitlements', 'clients'] as const;
const BACKENDS = ['auto', 'nftables', 'iptables'] as const;

/** The `entitlements` list as read, for parse-memo.ts. */
export interface EntitlementList {
  /** Where the key `entitlements` is. */
  at: SourcePos;
  list: YNode;
  /** Each item's entitlement (null where it had a problem), in the list's order. */
  items: (Entitlement | null)[];
  /** Whether `entitlements` is the file's last key. */
  last: boolean;
}

/** What parseFragment read; `entitlements` when the file has that key. */
export interface ParsedFile {
  fragment: Fragment;
  diagnostics: Diagnostic[];
  entitlements?: EntitlementList;
}

/** Parses one policy file's text; `file` is only used in messages. */
export function parseFragment(file: string, text: string): ParsedFile {
  const doc = parseYamlTree(text);
  const r = new Reader(file, text);
  const fragment: Fragment = { file, protect: [], servers: [], vms: [], entitlements: [] };
  if (doc.problem) {
    r.error(r.posAt(doc.problem.offset), `YAML: ${doc.problem.message}`);
    return { fragment, diagnostics: r.diagnostics };
  }

  const root = r.pos(null);
  if (doc.root === null || (isScalar(doc.root) && doc.root.value === null)) {
    return { fragment, diagnostics: r.diagnostics }; // an empty fragment is allowed: config management may blank one
  }
  const top = r.map(doc.root, 'the policy', TOP_KEYS, root);
  if (!top) return { fragment, diagnostics: r.diagnostics };

  const version = top.get('version');
  if (version) r.int(version.value, '`version`', r.pos(version.key), 1, 1);

  const viewer = top.get('viewer');
  if (viewer) readViewer(r, viewer.value, r.pos(viewer.key), fragment);
  const firewall = top.get('firewall');
  if (firewall) readFirewall(r, firewall.value, r.pos(firewall.key), fragment);

  const servers = top.get('servers');
  if (servers) {
    const m = r.map(servers.value, '`servers`', null, r.pos(servers.key));
    for (const [id, { key, value }] of m ?? []) {
      const s = readServer(r, id, key, value);
      if (s) fragment.servers.push(s);
    }
  }
  const vms = top.get('vms');
  if (vms) {
    const m = r.map(vms.value, '`vms`', null, r.pos(vms.key));
    for (const [id, { key, value }] of m ?? []) {
      const vm = readVm(r, id, key, value);
      if (vm) fragment.vms.push(vm);
    }
  }
  const clients = top.get('clients');
  if (clients) fragment.clients = readClients(r, clients.value, r.pos(clients.key));
  const ents = top.get('entitlements');
  if (!ents) return { fragment, diagnostics: r.diagnostics };
  const at = r.pos(ents.key);
  const items: (Entitlement | null)[] = [];
  for (const item of r.seq(ents.value, '`entitlements`', at) ?? []) {
    const e = readEntitlement(r, item, at);
    items.push(e);
    if (e) fragment.entitlements.push(e);
  }
  const last = [...top.keys()].pop() === 'entitlements';
  return { fragment, diagnostics: r.diagnostics, entitlements: { at, list: ents.value as YNode, items, last } };
}

function readViewer(r: Reader, node: unknown, at: SourcePos, f: Fragment): void {
  const m = r.map(node, '`viewer`', ['path', 'group'], at);
  const path = m?.get('path');
  if (path) {
    const v = r.string(path.value, '`viewer.path`', r.pos(path.key), checkPath);
    if (v !== null) f.viewerPath = { value: v, pos: r.pos(path.value) };
  }
  const group = m?.get('group');
  if (group) {
    const v = r.string(group.value, '`viewer.group`', r.pos(group.key), checkAccount);
    if (v !== null) f.viewerGroup = { value: v, pos: r.pos(group.value) };
  }
}

function readFirewall(r: Reader, node: unknown, at: SourcePos, f: Fragment): void {
  const m = r.map(node, '`firewall`', ['backend', 'protect', 'log'], at);
  const backend = m?.get('backend');
  if (backend) {
    const v = r.string(backend.value, '`firewall.backend`', r.pos(backend.key), (s) =>
      (BACKENDS as readonly string[]).includes(s) ? null : 'must be one of auto, nftables, iptables',
    );
    if (v !== null) f.backend = { value: v as (typeof BACKENDS)[number], pos: r.pos(backend.value) };
  }
  const log = m?.get('log');
  if (log) {
    const v = r.bool(log.value, '`firewall.log`', r.pos(log.key));
    if (v !== null) f.log = { value: v, pos: r.pos(log.value) };
  }
  const protect = m?.get('protect');
  if (protect) {
    for (const item of r.seq(protect.value, '`firewall.protect`', r.pos(protect.key)) ?? []) {
      const pm = r.map(item, 'a `firewall.protect` entry', ['ports'], r.pos(protect.key));
      const ports = pm?.get('ports');
      if (pm && !ports) r.error(r.pos(item), 'A `firewall.protect` entry needs `ports`');
      if (!ports) continue;
      const range = readPortRange(r, ports.value, r.pos(ports.key));
      if (range) f.protect.push({ ...range, pos: r.pos(ports.value) });
    }
  }
}

/** `20000-20999`, `"20002"` or `20002`. */
function readPortRange(r: Reader, node: unknown, at: SourcePos): PortRange | null {
  if (isScalar(node) && typeof node.value === 'number') {
    const p = r.int(node, '`ports`', at, 1, 65535);
    return p === null ? null : { from: p, to: p };
  }
  const text = r.string(node, '`ports`', at);
  if (text === null) return null;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || from < 1 || to > 65535 || from > to) {
    r.error(r.pos(node, at), `Expected \`ports\` to be a port or a range like 20000-20999 within 1-65535, got \`${printable(text)}\``);
    return null;
  }
  return { from, to };
}

function readServer(r: Reader, id: string, key: unknown, node: unknown): Server | null {
  const at = r.pos(key);
  const idOk = r.string(key, 'server id', at, checkId) !== null;
  const m = r.map(node, `server \`${printable(id)}\``, ['host', 'ca', 'host-subject'], at);
  if (!m) return null;
  const need = (k: string) => {
    const e = m.get(k);
    if (!e) r.error(at, `Server \`${printable(id)}\` needs \`${k}\``);
    return e;
  };
  const host = need('host');
  const ca = need('ca');
  const subject = need('host-subject');
  const hostV = host ? r.string(host.value, '`host`', r.pos(host.key), checkHost) : null;
  const caV = ca ? r.string(ca.value, '`ca`', r.pos(ca.key), checkPath) : null;
  const subjV = subject
    ? r.string(subject.value, '`host-subject`', r.pos(subject.key), (s) => (s.trim() === '' ? 'must not be empty' : checkText(s, 512)))
    : null;
  if (!idOk || hostV === null || caV === null || subjV === null) return null;
  return { id, host: hostV, ca: caV, hostSubject: subjV, pos: at };
}

function readVm(r: Reader, id: string, key: unknown, node: unknown): Vm | null {
  const at = r.pos(key);
  const idOk = r.string(key, 'VM id', at, checkId) !== null;
  const m = r.map(node, `VM \`${printable(id)}\``, ['server', 'tls-port', 'port', 'title', 'bridge-port', 'domain'], at);
  if (!m) return null;
  const server = m.get('server');
  const tls = m.get('tls-port');
  if (!server) r.error(at, `VM \`${printable(id)}\` needs \`server\``);
  if (!tls) r.error(at, `VM \`${printable(id)}\` needs \`tls-port\``);
  const serverV = server ? r.string(server.value, '`server`', r.pos(server.key), checkId) : null;
  const tlsV = tls ? r.int(tls.value, '`tls-port`', r.pos(tls.key), 1, 65535) : null;
  const port = m.get('port');
  const portV = port ? r.int(port.value, '`port`', r.pos(port.key), 1, 65535) : null;
  const title = m.get('title');
  const titleV = title ? r.string(title.value, '`title`', r.pos(title.key), (s) => checkText(s)) : null;
  if (!idOk || serverV === null) return null;
  // A VM with a bad field is still returned (port 0) so its server reference gets checked too; the
  // diagnostics already recorded keep the policy from ever being used.
  if (tlsV === null || (port && portV === null) || (title && titleV === null)) return { id, server: serverV, tlsPort: 0, port: null, title: id, pos: at };
  if (portV !== null && portV === tlsV) {
    r.error(r.pos(port?.value), `\`port\` and \`tls-port\` of VM \`${id}\` must differ`);
    return null;
  }
  // Host mode only; the client side never reads them.
  const bp = m.get('bridge-port');
  const bridgePort = bp ? readBridgePort(r, id, bp.value, r.pos(bp.key)) : null;
  const dom = m.get('domain');
  const domain = dom ? readDomain(r, dom.value, r.pos(dom.key)) : null;
  if ((bp && bridgePort === null) || (dom && domain === null)) return null;
  return { id, server: serverV, tlsPort: tlsV, port: portV, title: titleV ?? id, pos: at, ...(bridgePort ? { bridgePort } : {}), ...(domain !== null ? { domain } : {}) };
}

/** One item of `entitlements`; `at`: where the list's key is, for problems that have no node of their own. */
export function readEntitlement(r: Reader, node: unknown, at: SourcePos): Entitlement | null {
  const m = r.map(node, 'an entitlement', ['vm', 'users', 'groups', 'when'], at);
  if (!m) return null;
  const here = r.pos(node, at);
  const vm = m.get('vm');
  if (!vm) r.error(here, 'An entitlement needs `vm`');
  const vmV = vm ? r.string(vm.value, '`vm`', r.pos(vm.key), checkId) : null;
  const names = (k: 'users' | 'groups') => {
    const e = m.get(k);
    if (!e) return [];
    const out: { name: string; pos: SourcePos }[] = [];
    const keyPos = r.pos(e.key);
    const what = k === 'users' ? 'user name' : 'group name';
    for (const item of r.seq(e.value, `\`${k}\``, keyPos) ?? []) {
      // Any name the directory hands out; only its uid/gid ever reaches a rule.
      const v = r.string(item, what, keyPos, checkDirectoryName);
      if (v !== null) out.push({ name: v, pos: r.pos(item) });
    }
    return out;
  };
  const users = names('users');
  const groups = names('groups');
  if (!m.has('users') && !m.has('groups')) r.error(here, 'An entitlement needs `users` or `groups`');
  const when = m.get('when');
  const window = when ? readWhen(r, when.value, r.pos(when.key)) : null;
  if (vmV === null || (when && window === null)) return null;
  return { vm: vmV, users, groups, when: window, pos: here };
}

function readWhen(r: Reader, node: unknown, at: SourcePos): TimeWindow | null {
  const m = r.map(node, '`when`', ['days', 'hours'], at);
  if (!m) return null;
  if (!m.has('days') && !m.has('hours')) {
    r.error(r.pos(node, at), '`when` needs `days` or `hours`');
    return null;
  }
  let days: Day[] | null = null;
  let ok = true;
  const d = m.get('days');
  if (d) {
    const items = r.seq(d.value, '`days`', r.pos(d.key));
    if (!items) ok = false;
    days = [];
    for (const item of items ?? []) {
      const v = r.string(item, 'day', r.pos(d.key), (s) => ((DAYS as readonly string[]).includes(s) ? null : `must be one of ${DAYS.join(', ')}`));
      if (v === null) ok = false;
      else if (!days.includes(v as Day)) days.push(v as Day);
    }
    if (items && items.length === 0) {
      r.error(r.pos(d.value), '`days` must name at least one day');
      ok = false;
    }
    days.sort((a, b) => DAYS.indexOf(a) - DAYS.indexOf(b));
  }
  let start = 0;
  let end = 24 * 60;
  let hours: string | null = null;
  const h = m.get('hours');
  if (h) {
    const text = r.string(h.value, '`hours`', r.pos(h.key));
    const parsed = text === null ? null : parseHours(text);
    if (typeof parsed === 'string') r.error(r.pos(h.value), `Invalid \`hours\` \`${printable(text ?? '')}\`: ${parsed}`);
    if (parsed === null || typeof parsed === 'string') {
      ok = false;
    } else {
      start = parsed.start;
      end = parsed.end;
      hours = text;
    }
  }
  return ok ? { days, start, end, hours } : null;
}
