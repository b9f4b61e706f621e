// The Ansible role (issue 12) run by Debian's real ansible-playbook against a booted Debian container: it installs
// the helper, writes the policy and fragments (each validated before it is moved into place), applies through a
// handler, reports pending changes in --check from `plan`, and changes nothing on a second run.
//
// Connection: community.docker.nsenter (shipped in Debian's `ansible`), entering the namespaces of the
// container's PID 1. The container is systemd-nspawn booting the packaging tests' Debian root, inside a network
// namespace of its own, so nothing the role applies reaches the host's firewall or sudoers.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, firstReason, helperPackages, missing, mustExec, notRoot, REPO, SUPPORT } from './support/env.js';

const skip = await firstReason(
  notRoot('boots a Debian root with systemd-nspawn'),
  missing('ansible-playbook', 'ansible'),
  missing('systemd-nspawn', 'systemd-container'),
  missing('nsenter', 'util-linux'),
  missing('debootstrap', 'debootstrap'),
  missing('ip', 'iproute2'),
  missing('openssl', 'openssl'),
);

const MAIN = {
  version: 1,
  viewer: { path: '/usr/bin/remote-viewer', group: 'cgviewers' },
  firewall: { backend: 'nftables', protect: [{ ports: '20000-20999' }] },
  servers: { local: { host: '127.0.0.1', ca: '/etc/consolegate/ca/local.pem', 'host-subject': 'CN=localhost' } },
  vms: { debianx: { server: 'local', 'tls-port': 20002 }, leaptest: { server: 'local', 'tls-port': 20004 } },
};
const TEAM_A = { version: 1, entitlements: [{ vm: 'debianx', users: ['alice'] }] };

interface Recap {
  code: number;
  ok: number;
  changed: number;
  failed: number;
  output: string;
}

describe('the Ansible role against a booted container', { skip }, () => {
  let root = '';
  let work = '';
  let nspawn: ChildProcess | null = null;
  let pid1 = 0;
  const netns = `cgpkg-ansible-${process.pid}`;

  /** A command inside the running container (its mount, PID and network namespaces). */
  const inside = (...argv: string[]) => exec(['nsenter', `--target=${pid1}`, '--mount', '--pid', '--net', '--uts', '--ipc', '--', ...argv]);

  /** Runs the role with these variables; `check` adds --check --diff. */
  async function play(vars: Record<string, unknown>, opts: { check?: boolean } = {}): Promise<Recap> {
    const varsFile = path.join(work, `vars-${Date.now()}.json`);
    await writeFile(varsFile, JSON.stringify(vars));
    const r = await exec(
      ['ansible-playbook', '-i', path.join(work, 'inventory.ini'), path.join(work, 'play.yml'), '-e', `@${varsFile}`, ...(opts.check ? ['--check', '--diff'] : [])],
      {
        env: {
          ...process.env,
          HOME: work,
          ANSIBLE_LOCAL_TEMP: path.join(work, 'ansible-local'),
          ANSIBLE_REMOTE_TMP: '/root/.ansible-tmp',
          ANSIBLE_ROLES_PATH: path.join(REPO, 'packaging/ansible/roles'),
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_RETRY_FILES_ENABLED: '0',
          ANSIBLE_STDOUT_CALLBACK: 'default',
          ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
        },
      },
    );
    const output = `${r.stdout}\n${r.stderr}`;
    const m = /^container\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/m.exec(r.stdout);
    assert.ok(m, `no PLAY RECAP (exit ${r.code}):\n${output.slice(-4000)}`);
    return { code: r.code, ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]), output };
  }

  before(async () => {
    const tarball = (await mustExec(exec, ['bash', path.join(SUPPORT, 'bookworm-root.sh'), 'ansible'])).stdout.trim();
    root = await mkdtemp(path.join(os.tmpdir(), 'cg-ansibleroot-'));
    work = await mkdtemp(path.join(os.tmpdir(), 'cg-ansible-'));
    await mustExec(exec, ['tar', '-C', root, '-xf', tarball]);
    await mustExec(exec, ['ip', 'netns', 'add', netns]);
    await mustExec(exec, ['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    const chroot = (...argv: string[]) => mustExec(exec, ['bash', path.join(SUPPORT, 'container.sh'), '--chroot', root, netns, ...argv]);
    await chroot('useradd', '--create-home', 'alice');
    await chroot('useradd', '--create-home', 'bob');
    await copyFile((await helperPackages()).deb, path.join(root, 'root/consolegate-helper.deb'));
    await mkdir(path.join(root, 'etc/consolegate/ca'), { recursive: true });
    await mustExec(exec, ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
      '-days', '2', '-keyout', '/dev/null', '-out', path.join(root, 'etc/consolegate/ca/local.pem')]);

    nspawn = spawn('systemd-nspawn', ['--quiet', '--directory', root, '--boot', `--network-namespace-path=/run/netns/${netns}`, '--register=no', '--keep-unit', '--machine', `cgansible-${process.pid}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    nspawn.stdout!.on('data', (b: Buffer) => log.push(b.toString()));
    nspawn.stderr!.on('data', (b: Buffer) => log.push(b.toString()));
    pid1 = await containerInit(nspawn.pid!);
    // Until systemd's bus is up, systemctl cannot even ask; then --wait waits for the boot to finish.
    let up = await inside('systemctl', 'is-system-running', '--wait');
    for (let i = 0; i < 120 && !/running|degraded/.test(up.stdout); i++) {
      await new Promise((r) => setTimeout(r, 500));
      up = await inside('systemctl', 'is-system-running', '--wait');
    }
    assert.match(up.stdout, /running|degraded/, `the container did not boot: ${up.stdout}${up.stderr}\n${log.join('').slice(-3000)}`);

    await writeFile(path.join(work, 'inventory.ini'), `container ansible_connection=community.docker.nsenter ansible_nsenter_pid=${pid1}\n`);
    await writeFile(path.join(work, 'play.yml'), '- hosts: container\n  gather_facts: false\n  roles:\n    - consolegate\n');
  });
  after(async () => {
    if (nspawn && nspawn.exitCode === null) {
      const gone = new Promise((r) => nspawn!.once('exit', r));
      nspawn.kill('SIGTERM'); // nspawn asks the container's systemd to power off
      const t = setTimeout(() => nspawn!.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(t);
    }
    await exec(['ip', 'netns', 'del', netns]);
    if (root) await rm(root, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  const vars = (fragments: Record<string, unknown>) => ({ consolegate_helper_deb: '/root/consolegate-helper.deb', consolegate_policy: MAIN, consolegate_fragments: fragments });

  it('installs the helper, writes the policy and fragments root-only, and applies through the handler', async () => {
    const r = await play(vars({ '50-team-a': TEAM_A }));
    assert.equal(r.code, 0, r.output.slice(-4000));
    assert.ok(r.changed >= 3, r.output.slice(-3000));
    assert.match(r.output, /RUNNING HANDLER \[consolegate : Apply the consolegate policy\]/);
    assert.equal((await inside('dpkg-query', '-W', '-f=${Status}', 'consolegate-helper')).stdout, 'install ok installed');
    const stat = await inside('stat', '-c', '%a %U:%G', '/etc/consolegate/policy.yaml', '/etc/consolegate/policy.d/50-team-a.yaml');
    assert.equal(stat.stdout, '600 root:root\n600 root:root\n');
    const alice = (await inside('id', '-u', 'alice')).stdout.trim();
    const sudoers = (await inside('cat', '/etc/sudoers.d/consolegate')).stdout;
    assert.match(sudoers, new RegExp(`^(#${alice}|alice) ALL=`, 'm'), sudoers);
    assert.equal((await inside('consolegate-helper', 'status')).code, 0, 'in sync after the run');
  });

  it('a second run changes nothing', async () => {
    const r = await play(vars({ '50-team-a': TEAM_A }));
    assert.equal(r.code, 0, r.output.slice(-4000));
    assert.equal(r.changed, 0, r.output.slice(-3000));
  });

  it('--check reports a fragment that would change and drift that plan finds, and touches nothing', async () => {
    const before = (await inside('cat', '/etc/sudoers.d/consolegate')).stdout;
    const teamB = { version: 1, entitlements: [{ vm: 'leaptest', users: ['bob'] }] };
    const c1 = await play(vars({ '50-team-a': TEAM_A, '60-team-b': teamB }), { check: true });
    assert.equal(c1.code, 0, c1.output.slice(-4000));
    assert.equal(c1.changed, 1, c1.output.slice(-3000));
    assert.equal((await inside('test', '-e', '/etc/consolegate/policy.d/60-team-b.yaml')).code, 1, '--check must not write the fragment');

    // Drift outside the policy files (someone deleted our table): only plan's exit code can see it.
    await inside('nft', 'delete', 'table', 'inet', 'consolegate');
    const c2 = await play(vars({ '50-team-a': TEAM_A }), { check: true });
    assert.equal(c2.code, 0, c2.output.slice(-4000));
    assert.equal(c2.changed, 1, c2.output.slice(-3000));
    assert.match(c2.output, /TASK \[consolegate : Compare the system with the policy[^\n]*\nchanged: \[container\]/);
    assert.equal((await inside('nft', 'list', 'table', 'inet', 'consolegate')).code, 1, '--check must not apply');
    assert.equal((await inside('cat', '/etc/sudoers.d/consolegate')).stdout, before);

    const fix = await play(vars({ '50-team-a': TEAM_A }));
    assert.equal(fix.code, 0, fix.output.slice(-4000));
    assert.equal((await inside('nft', 'list', 'table', 'inet', 'consolegate')).code, 0, 'the handler applied again');
    assert.equal((await play(vars({ '50-team-a': TEAM_A }))).changed, 0);
  });

  it('an invalid fragment is refused by validate before it reaches policy.d; the rules in force stay', async () => {
    const sudoers = (await inside('cat', '/etc/sudoers.d/consolegate')).stdout;
    const bad = { version: 1, entitlements: [{ vm: 'ghost', users: ['bob'] }] };
    const r = await play(vars({ '50-team-a': TEAM_A, '70-bad': bad }));
    assert.notEqual(r.code, 0);
    assert.equal(r.failed, 1, r.output.slice(-3000));
    assert.match(r.output, /Entitlement names unknown VM `ghost`/);
    assert.equal((await inside('test', '-e', '/etc/consolegate/policy.d/70-bad.yaml')).code, 1, 'the bad fragment must not be in place');
    assert.equal((await inside('cat', '/etc/sudoers.d/consolegate')).stdout, sudoers);
    assert.equal((await inside('consolegate-helper', 'validate')).code, 0, 'the policy in place is still valid');
  });
});

/** The container's PID 1 (systemd) as the host sees it: the child of systemd-nspawn that runs systemd. */
async function containerInit(nspawnPid: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const kids = (await exec(['pgrep', '-P', String(nspawnPid)])).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of kids) {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      if (comm === 'systemd') return pid;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no systemd under systemd-nspawn (pid ${nspawnPid}) within 60 s`);
}
