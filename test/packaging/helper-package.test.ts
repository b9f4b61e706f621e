// consolegate-helper as .deb and .rpm (issue 5): contents, metadata, lintian and rpmlint clean.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { exec, helperPackages, missing, mustExec, REPO, type HelperPackages } from './support/env.js';

const DESC = path.join(REPO, 'packaging/helper');

/** Files both formats install (the unit directory differs: /lib on Debian 12, /usr/lib for RPM). */
const COMMON = [
  ['/usr/lib/consolegate/consolegate-helper.js', '0644'],
  ['/usr/lib/consolegate/package.json', '0644'],
  ['/usr/lib/consolegate/nss-numeric.so', '0644'],
  ['/usr/lib/consolegate/nft-genid', '0755'],
  ['/usr/sbin/consolegate-helper', '0755'],
  ['/usr/libexec/consolegate/open-console', '0755'],
  ['/usr/share/consolegate/policy.example.yaml', '0644'],
  ['/usr/share/consolegate/policy.schema.json', '0644'],
  ['/usr/share/man/man8/consolegate-helper.8.gz', '0644'],
  ['/usr/share/bash-completion/completions/consolegate-helper', '0644'],
  ['/usr/lib/sysusers.d/consolegate.conf', '0644'],
  ['/etc/consolegate/policy.d', '0755'],
] as const;
const UNITS = ['consolegate-apply-early.service', 'consolegate-apply.service', 'consolegate-apply.path', 'consolegate-refresh.timer', 'consolegate-watch.service', 'consolegate-.service.d/hardening.conf'];

interface Entry {
  mode: string;
  owner: string;
}

/** A package listing (`dpkg-deb --contents` or `rpm -qplv`) as path → mode and owner. */
function parseListing(text: string, columns: { owner: (cols: string[]) => string; path: number }): Map<string, Entry> {
  const octal = (perms: string): string => {
    let n = 0;
    [...perms.slice(1)].forEach((c, i) => {
      if (c !== '-') n |= 1 << (8 - i);
    });
    return n.toString(8).padStart(4, '0');
  };
  const out = new Map<string, Entry>();
  for (const line of text.trim().split('\n')) {
    const cols = line.trim().split(/\s+/);
    const p = cols[columns.path]!.replace(/^\./, '').replace(/\/$/, '');
    if (p !== '') out.set(p, { mode: octal(cols[0]!), owner: columns.owner(cols) });
  }
  return out;
}

const debListing = async (deb: string): Promise<Map<string, Entry>> =>
  parseListing((await mustExec(exec, ['dpkg-deb', '--contents', deb])).stdout, { path: 5, owner: (c) => c[1]!.replace('/', ':') });
const rpmListing = async (rpm: string): Promise<Map<string, Entry>> =>
  parseListing((await mustExec(exec, ['rpm', '-qplv', rpm])).stdout, { path: 8, owner: (c) => `${c[2]}:${c[3]}` });

describe('consolegate-helper packages', () => {
  let pkgs: HelperPackages;
  before(async () => {
    pkgs = await helperPackages();
  });

  it('the .deb installs the helper, open-console, units, man page and completion, all root:root', async () => {
    const files = await debListing(pkgs.deb);
    for (const [p, mode] of COMMON) assert.equal(files.get(p)?.mode, mode, p);
    for (const u of UNITS) assert.equal(files.get(`/lib/systemd/system/${u}`)?.mode, '0644', u);
    assert.ok(files.has('/usr/share/doc/consolegate-helper/copyright'));
    assert.ok(files.has('/usr/share/doc/consolegate-helper/changelog.gz'));
    for (const [p, e] of files) assert.equal(e.owner, 'root:root', p);
  });

  it('the .deb declares the documented dependencies and this machine\'s architecture (it carries nss-numeric.so)', async () => {
    const field = async (name: string): Promise<string> => (await mustExec(exec, ['dpkg-deb', '--field', pkgs.deb, name])).stdout.trim();
    assert.equal(await field('Depends'), 'libc6 (>= 2.34), nodejs (>= 18.19), nftables | iptables, sudo, virt-viewer, acl');
    assert.equal(await field('Architecture'), (await mustExec(exec, ['dpkg', '--print-architecture'])).stdout.trim());
  });

  it('the .rpm installs the same files with the same modes (one description, two formats)', async () => {
    // Only the unit directory and the distribution's own bookkeeping files differ.
    const normalise = (m: Map<string, Entry>, drop: RegExp): Map<string, Entry> =>
      new Map([...m].filter(([p]) => !drop.test(p)).map(([p, e]) => [p.replace(/^\/lib\/systemd/, '/usr/lib/systemd'), e]));
    const deb = normalise(await debListing(pkgs.deb), /^\/usr\/share\/(doc|lintian)\b|^\/lib$|^\/lib\/systemd(\/system)?$/);
    const rpm = normalise(await rpmListing(pkgs.rpm), /^\/usr\/share\/licenses\b|^\/usr\/lib\/systemd\/system-preset\b/);
    for (const [p, e] of rpm) assert.deepEqual(deb.get(p), e, `${p} in the .rpm`);
    // The .deb also lists parent directories (/usr, /usr/share, ...) that the .rpm leaves to the filesystem package.
    for (const [p] of deb) if (!rpm.has(p)) assert.ok([...rpm.keys()].some((r) => r.startsWith(`${p}/`)), `${p} is only in the .deb`);
  });

  it('the .rpm requires the RPM equivalents, is built for this machine and has the viewer file trigger', async () => {
    const requires = (await mustExec(exec, ['rpm', '-qp', '--requires', pkgs.rpm])).stdout.split('\n');
    for (const dep of ['nodejs >= 18.19', '(nftables or iptables)', 'sudo', 'virt-viewer']) assert.ok(requires.includes(dep), `Requires: ${dep}`);
    assert.equal((await mustExec(exec, ['rpm', '-qp', '--qf', '%{ARCH}', pkgs.rpm])).stdout, (await mustExec(exec, ['uname', '-m'])).stdout.trim());
    assert.ok(requires.some((r) => /^libc\.so\.6\b/.test(r)), `the .rpm must require libc for nss-numeric.so: ${requires.join(', ')}`);
    const triggers = (await mustExec(exec, ['rpm', '-qp', '--filetriggers', pkgs.rpm])).stdout;
    assert.match(triggers, /^filetriggerin scriptlet \(using \/bin\/sh\) -- \/usr\/bin\/remote-viewer$/m);
  });

  it('builds are reproducible: a second build is byte-identical', async () => {
    const again = await mkdtemp(path.join(os.tmpdir(), 'cg-packages-again-'));
    try {
      await mustExec(exec, ['bash', path.join(REPO, 'scripts/dist-helper.sh'), '--no-build', '--out', again]);
      for (const file of [pkgs.deb, pkgs.rpm]) {
        const [a, b] = await Promise.all([readFile(file), readFile(path.join(again, path.basename(file)))]);
        assert.ok(a.equals(b), `${path.basename(file)} differs between two builds`);
      }
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
    const needReason = (text: string, isEntry: (line: string) => boolean, file: string): void => {
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        if (isEntry(line)) assert.match(lines[i - 1] ?? '', /^\s*#\s*\S/, `${file}:${i + 1}: no reason above "${line.trim()}"`);
      });
    };
    needReason(await readFile(path.join(DESC, 'lintian-overrides'), 'utf8'), (l) => /^consolegate-helper:/.test(l), 'lintian-overrides');
    const toml = await readFile(path.join(DESC, 'rpmlint.toml'), 'utf8');
    needReason(toml, (l) => /^\s*"[^"]+",?$/.test(l) || /^[A-Za-z]+ = (?!\[)/.test(l), 'rpmlint.toml');
  });

  it('the man page renders without warnings', async (t) => {
    const skip = await missing('man', 'man-db');
    if (skip) return t.skip(skip);
    const r = await exec(['man', '--warnings', '-E', 'UTF-8', '-l', path.join(DESC, 'consolegate-helper.8')], { env: { ...process.env, MANWIDTH: '80' } });
    assert.equal(r.code, 0);
    assert.equal(r.stderr.trim(), '');
    assert.match(r.stdout, /consolegate-helper command \[--policy file\] \[--json\]/);
  });

  it('bash completion offers the commands first, then the options', async () => {
    // bash-completion's _init_completion, reduced to what our function reads.
    const complete = async (...words: string[]): Promise<string> => {
      const script = `
        _init_completion() { words=("\${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=\${COMP_WORDS[COMP_CWORD]}; prev=\${COMP_WORDS[COMP_CWORD-1]}; }
        source "$1"; shift
        COMP_WORDS=(consolegate-helper "$@"); COMP_CWORD=$#
        _consolegate_helper; echo "\${COMPREPLY[*]}"`;
      return (await mustExec(exec, ['bash', '-c', script, '_', path.join(DESC, 'bash-completion'), ...words])).stdout.trim();
    };
    assert.equal(await complete(''), 'validate plan apply status remove audit restore watch');
    assert.equal(await complete('st'), 'status');
    assert.equal(await complete('apply', '--'), '--policy --json --strict --help');
    assert.equal(await complete('--policy', 'p.yaml', 'audit', '--s'), '--strict --since');
  });

  it('maintainer scripts are POSIX sh with set -e', async () => {
    for (const name of ['postinst', 'prerm', 'postrm']) {
      const body = (await mustExec(exec, ['sh', '-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xO "./$2"', '_', pkgs.deb, name])).stdout;
      assert.match(body, /^#!\/bin\/sh\nset -e\n/, name);
      const check = await exec(['dash', '-n'], { input: body });
      assert.equal(check.code, 0, `${name}: ${check.stderr}`);
    }
  });
});
