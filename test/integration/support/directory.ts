// A real directory for one test file: Debian's slapd on loopback inside the sandbox's network namespace, and
// sssd answering NSS for it. The client configuration (nsswitch.conf, sssd.conf, sssd's cache and sockets) is
// bind-mounted in private mount namespaces only, so the host's NSS never sees any of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exec, type ExecResult } from '../../../helper/src/system/exec.js';
import { HELPER, groupsArg, type RunOptions, type Sandbox, type TestUser } from '../../support/sandbox.js';

export const SUFFIX = 'dc=corp,dc=example,dc=com';
export const DOMAIN = 'corp.example.com';
const ADMIN = `cn=admin,${SUFFIX}`;
const ADMIN_PW = 'directory-test-only';
const LDAP_PORT = 3890;
const LDAP_URI = `ldap://127.0.0.1:${LDAP_PORT}`;
/** How long sssd trusts an entry before asking slapd again; the tests wait this out instead of flushing caches. */
export const CACHE_SECONDS = 2;

/** Why the directory tests cannot run here, or null. */
export async function directoryUnavailable(): Promise<string | null> {
  const needs: [string, string][] = [
    ['/usr/sbin/slapd', 'slapd'],
    ['/usr/lib/ldap/back_mdb.so', 'slapd'],
    ['/etc/ldap/schema/nis.schema', 'slapd'],
    ['/usr/bin/ldapadd', 'ldap-utils'],
    ['/usr/sbin/sssd', 'sssd-ldap (sssd-common)'],
    ['/usr/lib/x86_64-linux-gnu/sssd/libsss_ldap.so', 'sssd-ldap'],
    ['/var/lib/sss', 'sssd-common'],
    ['/etc/sssd', 'sssd-common'],
  ];
  for (const [file, pkg] of needs) {
    try {
      await access(file);
    } catch {
      return `${file} is missing (apt install ${pkg}; scripts/apt-packages.txt lists it)`;
    }
  }
  const nss = await exec(['sh', '-c', 'ls /lib/*/libnss_sss.so.2 /usr/lib/*/libnss_sss.so.2 2>/dev/null']);
  if (!nss.stdout.trim()) return 'libnss_sss.so.2 is missing (apt install libnss-sss)';
  return null;
}

/** An LDAP account as the test creates it. */
export interface LdapUser extends TestUser {
  /** The `uid` attribute: the name sssd answers with. */
  name: string;
}

/** slapd + sssd for one sandbox; every process it starts is stopped by PID in `stop()`. */
export class Directory {
  private slapd: ChildProcess | null = null;
  private sssd: ChildProcess | null = null;
  private readonly logs: string[] = [];

  private constructor(
    readonly sb: Sandbox,
    readonly dir: string,
  ) {}

  /** Starts slapd with the base tree and sssd pointing at it; returns once NSS answers for `probe`. */
  static async start(sb: Sandbox): Promise<Directory> {
    const dir = path.join(sb.dir, 'directory');
    const d = new Directory(sb, dir);
    for (const sub of ['ldap-db', 'etc-sssd/conf.d', 'log-sssd', 'sss/db', 'sss/pipes/private', 'sss/mc', 'sss/pubconf/krb5.include.d', 'sss/gpo_cache', 'sss/secrets', 'sss/deskprofile']) {
      await mkdir(path.join(dir, sub), { recursive: true, mode: 0o755 });
    }
    await chmod(path.join(dir, 'sss/db'), 0o700);
    await chmod(path.join(dir, 'sss/pipes/private'), 0o700);
    await writeFile(
      path.join(dir, 'slapd.conf'),
      [
        ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include /etc/ldap/schema/${s}.schema`),
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        `pidfile ${dir}/slapd.pid`,
        'database mdb',
        'maxsize 10485760',
        `suffix "${SUFFIX}"`,
        `rootdn "${ADMIN}"`,
        `rootpw ${ADMIN_PW}`,
        `directory ${dir}/ldap-db`,
        '',
      ].join('\n'),
    );
    // The client side, as a fleet laptop would have it, except for the short cache (production: 90 min, see
    // docs/fleet.md) and no fast in-memory cache, so the test's directory changes show within seconds.
    await writeFile(
      path.join(dir, 'etc-sssd/sssd.conf'),
      [
        '[sssd]',
        'services = nss',
        `domains = ${DOMAIN}`,
        '[nss]',
        'memcache_timeout = 0',
        'entry_negative_timeout = 1',
        `[domain/${DOMAIN}]`,
        'id_provider = ldap',
        'auth_provider = none',
        `ldap_uri = ${LDAP_URI}`,
        `ldap_search_base = ${SUFFIX}`,
        'ldap_schema = rfc2307',
        'ldap_id_use_start_tls = false',
        'ldap_network_timeout = 2',
        'ldap_opt_timeout = 2',
        `entry_cache_timeout = ${CACHE_SECONDS}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await writeFile(path.join(dir, 'nsswitch.conf'), 'passwd: files sss\ngroup: files sss\nshadow: files\nhosts: files\n', { mode: 0o644 });
    await d.startSlapd();
    await d.ldap('add', BASE_LDIF);
    await d.startSssd();
    return d;
  }

  /**
   * Shell run inside a fresh private mount namespace before anything else: this directory's client
   * configuration over the host's (nsswitch.conf, /etc/sssd, sssd's cache and sockets, its log directory).
   */
  get preamble(): string {
    const b = (from: string, to: string) => `mount --bind '${path.join(this.dir, from)}' ${to}`;
    return [b('nsswitch.conf', '/etc/nsswitch.conf'), b('etc-sssd', '/etc/sssd'), b('sss', '/var/lib/sss'), b('log-sssd', '/var/log/sssd')].join(' && ');
  }

  /** argv for a command in the sandbox's network namespace, this directory's NSS and the sandbox's sudoers.d. */
  argv(argv: string[], opts: RunOptions = {}): string[] {
    const as = opts.user ? ['setpriv', `--reuid=${opts.user.uid}`, `--regid=${opts.gid ?? opts.user.gid}`, ...groupsArg(opts), '--'] : [];
    const script = `mount --bind "$0" /etc/sudoers.d && ${this.preamble} && exec ip netns exec "$1" "\${@:2}"`;
    return ['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', script, this.sb.sudoersDir, this.sb.ns, ...as, ...argv];
  }

  /** Like `Sandbox.run`, with this directory answering NSS. */
  run(argv: string[], opts: RunOptions = {}): Promise<ExecResult> {
    return exec(this.argv(argv, opts), { input: opts.input, env: { ...process.env, ...this.sb.env, ...opts.env } });
  }

  /** The built helper, with this directory answering NSS. */
  helper(args: string[]): Promise<ExecResult> {
    return this.run([process.execPath, HELPER, ...args]);
  }

  /** A plain TCP connect as `user` with `gid`; true when it connected. */
  async connect(port: number, user: TestUser, gid: number): Promise<boolean> {
    return (await this.run(['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/127.0.0.1/$0"', String(port)], { user, gid })).code === 0;
  }

  /** Adds a posixAccount; its primary group is `gid` (no group entry needed). */
  async addUser(name: string, uid: number, gid = 2700000): Promise<LdapUser> {
    // Named by number in the DN, and the name base64 in LDIF, so any name (`#0`, `a=b`, controls) can be stored.
    await this.ldap('add', `dn: cn=u${uid},ou=people,${SUFFIX}\nobjectClass: account\nobjectClass: posixAccount\nuid:: ${b64(name)}\ncn: u${uid}\nuidNumber: ${uid}\ngidNumber: ${gid}\nhomeDirectory: /nonexistent\nloginShell: /usr/sbin/nologin\n`);
    return { name, uid, gid };
  }

  /** Adds a posixGroup listing `members` (memberUid, RFC 2307). */
  async addGroup(cn: string, gid: number, members: string[]): Promise<void> {
    await this.ldap('add', `dn: cn=${cn},ou=groups,${SUFFIX}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${gid}\n${members.map((m) => `memberUid:: ${b64(m)}\n`).join('')}`);
  }

  async addMember(cn: string, member: string): Promise<void> {
    await this.ldap('modify', `dn: cn=${cn},ou=groups,${SUFFIX}\nchangetype: modify\nadd: memberUid\nmemberUid:: ${b64(member)}\n`);
  }

  async removeMember(cn: string, member: string): Promise<void> {
    await this.ldap('modify', `dn: cn=${cn},ou=groups,${SUFFIX}\nchangetype: modify\ndelete: memberUid\nmemberUid:: ${b64(member)}\n`);
  }

  /** Waits until sssd's cached entries are stale, so the next lookup asks slapd. */
  async waitForCacheExpiry(): Promise<void> {
    await new Promise((r) => setTimeout(r, CACHE_SECONDS * 1000 + 600));
  }

  /** Runs getent through this directory's NSS. */
  getent(db: 'passwd' | 'group', key: string): Promise<ExecResult> {
    return this.run(['getent', db, key]);
  }

  async startSlapd(): Promise<void> {
    // -d 0: stay in the foreground (we hold its PID) without debug output.
    this.slapd = this.spawnLogged('slapd', ['ip', 'netns', 'exec', this.sb.ns, '/usr/sbin/slapd', '-f', path.join(this.dir, 'slapd.conf'), '-h', `${LDAP_URI}/`, '-d', '0']);
    await this.until('slapd answers', async () => (await exec(['ip', 'netns', 'exec', this.sb.ns, 'ldapsearch', '-x', '-H', LDAP_URI, '-b', '', '-s', 'base', 'namingContexts'])).code === 0);
  }

  async stopSlapd(): Promise<void> {
    await stopChild(this.slapd);
    this.slapd = null;
  }

  async startSssd(): Promise<void> {
    // sssd writes /run/sssd.pid: a tmpfs over /run in its own mount namespace keeps that off the host.
    const inner = 'mount -t tmpfs cgt-sssd-run /run && exec /usr/sbin/sssd -i --logger=stderr -d 0x0070';
    this.sssd = this.spawnLogged('sssd', ['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', `${this.preamble} && exec ip netns exec "$0" bash -c "$1"`, this.sb.ns, inner]);
    await this.until('sssd answers', async () => (await this.getent('passwd', 'probe')).code === 0);
  }

  async stopSssd(): Promise<void> {
    await stopChild(this.sssd);
    this.sssd = null;
  }

  /** What slapd and sssd printed, for failure messages. */
  get log(): string {
    return this.logs.join('').slice(-4000);
  }

  async stop(): Promise<void> {
    await this.stopSssd();
    await this.stopSlapd();
  }

  private async ldap(op: 'add' | 'modify', ldif: string): Promise<void> {
    const r = await exec(['ip', 'netns', 'exec', this.sb.ns, op === 'add' ? 'ldapadd' : 'ldapmodify', '-x', '-H', LDAP_URI, '-D', ADMIN, '-w', ADMIN_PW], { input: ldif });
    if (r.code !== 0) throw new Error(`ldap${op} exited ${r.code}: ${r.stderr.trim()}\n${ldif}`);
  }

  private spawnLogged(name: string, argv: string[]): ChildProcess {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => this.logs.push(`[${name}] ${b.toString()}`);
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return child;
  }

  private async until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s\n${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

// Every exec in the chains above replaces its process, so the PID we hold is the daemon's own.
async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

const BASE_LDIF = `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
o: corp
dc: corp

dn: ou=people,${SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: uid=probe,ou=people,${SUFFIX}
objectClass: account
objectClass: posixAccount
uid: probe
cn: probe
uidNumber: 2700999
gidNumber: 2700000
homeDirectory: /nonexistent
`;
