// consolegate-host as .deb and .rpm (issue 15): its own package, units and man page, no sudoers or viewer
// parts, lint-clean, reproducible, and the packaged bundle runs host mode.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exec, missing, mustExec, REPO } from './support/env.js';

const DESC = path.join(REPO, 'packaging/host');
const FILES = [
  ['/usr/share/consolegate-host/consolegate-helper.js', '0644'],
  ['/usr/share/consolegate-host/package.json', '0644'],
  ['/usr/share/consolegate-host/policy.schema.json', '0644'],
  ['/usr/sbin/consolegate-host', '0755'],
  ['/usr/share/man/man8/consolegate-host.8.gz', '0644'],
  ['/etc/consolegate/policy.d', '0755'],
] as const;
const UNITS = ['consolegate-host-apply-early.service', 'consolegate-host-apply.service', 'consolegate-host-apply.path', 'consolegate-host-refresh.timer'];
/** What only the client package may carry. */
const CLIENT_ONLY = /sudoers|open-console|nss-numeric|sysusers|remote-viewer|\/usr\/lib\/consolegate\//;

async function build(out: string): Promise<{ deb: string; rpm: string }> {
  await mustExec(exec, ['bash', path.join(REPO, 'scripts/dist-helper.sh'), '--no-build', '--package', 'host', '--out', out]);
  const files = await readdir(out);
  const pick = (ext: string) => path.join(out, files.find((f) => f.endsWith(ext)) ?? assert.fail(`no ${ext} in ${files.join(', ')}`));
  return { deb: pick('.deb'), rpm: pick('.rpm') };
}

/** `dpkg-deb --contents` or `rpm -qplv` as path → "mode owner". */
function listing(text: string, pathCol: number, owner: (c: string[]) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const c = line.trim().split(/\s+/);
    let n = 0;
    [...c[0]!.slice(1)].forEach((ch, i) => (n |= ch === '-' ? 0 : 1 << (8 - i)));
    const p = c[pathCol]!.replace(/^\./, '').replace(/\/$/, '');
    if (p) out.set(p, `${n.toString(8).padStart(4, '0')} ${owner(c)}`);
  }
  return out;
}

describe('consolegate-host packages', () => {
  let out = '';
  let pkgs: { deb: string; rpm: string };
  before(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'cg-host-packages-'));
    process.on('exit', () => rmSync(out, { recursive: true, force: true }));
    pkgs = await build(out);
  });

  it('the .deb is architecture-independent, depends on node and nftables, and carries no client parts', async () => {
    const field = async (f: string) => (await mustExec(exec, ['dpkg-deb', '--field', pkgs.deb, f])).stdout.trim();
    assert.equal(await field('Package'), 'consolegate-host');
    assert.equal(await field('Architecture'), 'all');
    assert.equal(await field('Depends'), 'nodejs (>= 18.19), nftables');
    const files = listing((await mustExec(exec, ['dpkg-deb', '--contents', pkgs.deb])).stdout, 5, (c) => c[1]!.replace('/', ':'));
    for (const [p, mode] of FILES) assert.equal(files.get(p), `${mode} root:root`, p);
    for (const u of UNITS) assert.equal(files.get(`/lib/systemd/system/${u}`), '0644 root:root', u);
    assert.equal(files.get('/lib/systemd/system/consolegate-host-.service.d/hardening.conf'), '0644 root:root');
    for (const p of files.keys()) assert.doesNotMatch(p, CLIENT_ONLY);
    for (const [p, e] of files) assert.match(e, / root:root$/, p);
  });

  it('the .rpm is noarch with the same files, requires node and nftables, and has no viewer trigger', async () => {
    assert.equal((await mustExec(exec, ['rpm', '-qp', '--qf', '%{NAME} %{ARCH}', pkgs.rpm])).stdout, 'consolegate-host noarch');
    const requires = (await mustExec(exec, ['rpm', '-qp', '--requires', pkgs.rpm])).stdout.split('\n');
    for (const dep of ['nodejs >= 18.19', 'nftables']) assert.ok(requires.includes(dep), `Requires: ${dep}`);
    assert.equal((await mustExec(exec, ['rpm', '-qp', '--filetriggers', pkgs.rpm])).stdout.trim(), '');
    const files = listing((await mustExec(exec, ['rpm', '-qplv', pkgs.rpm])).stdout, 8, (c) => `${c[2]}:${c[3]}`);
    for (const [p, mode] of FILES) assert.equal(files.get(p), `${mode} root:root`, p);
    for (const u of UNITS) assert.equal(files.get(`/usr/lib/systemd/system/${u}`), '0644 root:root', u);
    for (const p of files.keys()) assert.doesNotMatch(p, CLIENT_ONLY);
  });

  it('builds are reproducible', async () => {
    const again = await mkdtemp(path.join(os.tmpdir(), 'cg-host-packages-again-'));
    try {
      const second = await build(again);
      assert.ok((await readFile(pkgs.deb)).equals(await readFile(second.deb)), '.deb differs');
      assert.ok((await readFile(pkgs.rpm)).equals(await readFile(second.rpm)), '.rpm differs');
    } finally {
      await rm(again, { recursive: true, force: true });
    }
  });

  it('lintian finds no errors or warnings', async (t) => {
    const skip = await missing('lintian', 'lintian');
    if (skip) return t.skip(skip);
    const r = await exec(['lintian', '--display-level', '>=warning', '--fail-on', 'error,warning', pkgs.deb]);
    assert.equal(r.stdout.trim(), '', r.stdout);
    assert.equal(r.code, 0, r.stderr);
  });

  it('rpmlint finds no errors or warnings', async (t) => {
    const skip = await missing('rpmlint', 'rpmlint');
    if (skip) return t.skip(skip);
    const r = await exec(['rpmlint', '-c', path.join(DESC, 'rpmlint.toml'), pkgs.rpm]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /0 errors, 0 warnings/);
  });

  it('every lintian override and rpmlint filter states its reason', async () => {
    const needReason = (text: string, isEntry: (l: string) => boolean, file: string) => {
      const lines = text.split('\n');
      lines.forEach((l, i) => {
        if (isEntry(l)) assert.match(lines[i - 1] ?? '', /^\s*#\s*\S/, `${file}:${i + 1}: no reason above "${l.trim()}"`);
      });
    };
    needReason(await readFile(path.join(DESC, 'lintian-overrides'), 'utf8'), (l) => /^consolegate-host:/.test(l), 'lintian-overrides');
    needReason(await readFile(path.join(DESC, 'rpmlint.toml'), 'utf8'), (l) => /^\s*"[^"]+",?$/.test(l) || /^[A-Za-z]+ = (?!\[)/.test(l), 'rpmlint.toml');
  });

  it('the man page renders without warnings', async (t) => {
    const skip = await missing('man', 'man-db');
    if (skip) return t.skip(skip);
    const r = await exec(['man', '--warnings', '-E', 'UTF-8', '-l', path.join(DESC, 'consolegate-host.8')], { env: { ...process.env, MANWIDTH: '80' } });
    assert.equal(r.code, 0);
    assert.equal(r.stderr.trim(), '');
    assert.match(r.stdout, /consolegate-host command \[--server name\]/);
  });

  it('maintainer scripts are POSIX sh with set -e', async () => {
    for (const name of ['postinst', 'prerm', 'postrm']) {
      const body = (await mustExec(exec, ['sh', '-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xO "./$2"', '_', pkgs.deb, name])).stdout;
      assert.match(body, /^#!\/bin\/sh\nset -e\n/, name);
      const check = await exec(['dash', '-n'], { input: body });
      assert.equal(check.code, 0, `${name}: ${check.stderr}`);
    }
  });

  describe('installed files', () => {
    let root = '';
    before(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), 'cg-host-root-'));
      await mkdir(path.join(root, 'lib/systemd'), { recursive: true });
      await cp('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
      await mustExec(exec, ['dpkg-deb', '--extract', pkgs.deb, root]);
      // ExecCondition's shell, as every system has it.
      await mkdir(path.join(root, 'bin'));
      await cp('/bin/dash', path.join(root, 'bin/sh'));
    });
    after(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    it('systemd-analyze verify accepts every unit, and the sandbox rates at most 2.5', async (t) => {
      const skip = await missing('systemd-analyze', 'systemd');
      if (skip) return t.skip(skip);
      const r = await exec(['systemd-analyze', 'verify', `--root=${root}`, '--man=yes', ...UNITS], { env: { ...process.env, MANPATH: path.join(root, 'usr/share/man') } });
      assert.equal(r.stdout + r.stderr, '');
      assert.equal(r.code, 0);
      for (const unit of ['consolegate-host-apply-early.service', 'consolegate-host-apply.service']) {
        const s = await mustExec(exec, ['systemd-analyze', 'security', '--offline=yes', `--root=${root}`, unit]);
        const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(s.stdout);
        assert.ok(m && Number(m[1]) <= 2.5, `${unit}: ${m?.[1] ?? s.stdout}`);
      }
    });

    it('the packaged bundle runs host mode: status of an unapplied host exits 3, in a namespace of its own', async (t) => {
      if (process.getuid?.() !== 0) return t.skip('needs root (unshare --net for nft)');
      const skip = await missing('nft', 'nftables');
      if (skip) return t.skip(skip);
      const policy = path.join(root, 'policy.yaml');
      await writeFile(policy, 'version: 1\nclients: [192.0.2.0/24]\nservers: { hv: { host: 192.0.2.1, ca: /etc/ca.pem, host-subject: "CN=hv" } }\nvms: { vm1: { server: hv, tls-port: 5901 } }\n');
      // The wrapper's own line, pointed at the extracted tree.
      const wrapper = (await readFile(path.join(root, 'usr/sbin/consolegate-host'), 'utf8')).replaceAll('/usr/share/consolegate-host', path.join(root, 'usr/share/consolegate-host'));
      const script = path.join(root, 'consolegate-host');
      await writeFile(script, wrapper, { mode: 0o755 });
      const env = { ...process.env, CONSOLEGATE_POLICY: policy, CONSOLEGATE_STATE_DIR: path.join(root, 'state'), CONSOLEGATE_SERVER: 'hv' };
      const r = await exec(['unshare', '--net', '--', script, 'status'], { env });
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /nft table inet consolegate-host is missing/);
    });
  });
});
