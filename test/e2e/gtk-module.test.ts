// Issue 11, with the real remote-viewer under Xvfb: an entitled user names her own GTK module in
// ~/.config/gtk-3.0/settings.ini, and the viewer started through sudo and open-console loads it. The module
// (test/fixtures/gtk-spy-module.c) records what it could read and reach. It must find no console table, nothing
// of another user's, and nothing it could leave behind that helps another user.
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, rootTestsUnavailable, Sandbox, type TestUser } from '../support/sandbox.js';
import { exec } from '../../helper/src/system/exec.js';
import { missingLine } from './support/deps.js';
import { startXvfb, type XDisplay } from './support/xvfb.js';

async function unavailable(): Promise<string | null> {
  const base = (await rootTestsUnavailable()) ?? missingLine();
  if (base) return base;
  if ((await exec(['sh', '-c', 'command -v cc'])).code !== 0) return '`cc` is missing (apt install gcc libc6-dev): the GTK module is built by the test';
  return null;
}
const skip = await unavailable();

describe('issue 11: a GTK module of the user, loaded by the real remote-viewer, gets nothing', { skip: skip ?? false, timeout: 180_000 }, () => {
  let sb: Sandbox;
  let x: XDisplay;
  let alice: TestUser;
  let bob: TestUser;
  let gid: number;
  let home: string;
  let result: string[];
  const tag = Math.random().toString(36).slice(2, 8);
  const bobVm = `bobvm-${tag}`;

  before(async () => {
    sb = await Sandbox.create();
    alice = await sb.addUser('a');
    bob = await sb.addUser('b');
    const viewer = path.join(sb.dir, 'bin', 'remote-viewer');
    await copyFile('/usr/bin/remote-viewer', viewer);
    await chmod(viewer, 0o755);
    x = await startXvfb((argv) => ['ip', 'netns', 'exec', sb.ns, ...argv], sb.dir);
    await sb.listen([20002, 20012]);
    await sb.writePolicy(
      sb
        .policy(
          `
servers:
  s: { host: 127.0.0.1, ca: $CA, host-subject: "CN=x" }
vms:
  vm1: { server: s, tls-port: 20002 }
  ${bobVm}: { server: s, tls-port: 20012 }
entitlements:
  - { vm: vm1, users: [${alice.name}] }
  - { vm: ${bobVm}, users: [${bob.name}] }
`,
        )
        .replace(sb.viewer, viewer),
    );
    const r = await sb.helper(['apply']);
    assert.equal(r.code, 0, r.stderr);
    gid = await sb.viewerGid();

    // Her home (open-console takes HOME from her passwd entry), her settings naming her module, her module.
    home = path.join(sb.dir, 'home-alice');
    await mkdir(path.join(home, '.config', 'gtk-3.0'), { recursive: true });
    assert.equal((await exec(['usermod', '-d', home, alice.name])).code, 0);
    const so = path.join(home, 'spy.so');
    const cc = await exec(['cc', '-shared', '-fPIC', '-O1', '-o', so, path.join(ROOT, 'test/fixtures/gtk-spy-module.c')]);
    assert.equal(cc.code, 0, cc.stderr);
    await writeFile(path.join(home, '.config', 'gtk-3.0', 'settings.ini'), `[Settings]\ngtk-modules=${so}\n`);
    const views = path.join(sb.stateDir, 'views');
    await writeFile(
      path.join(home, 'spy-targets'),
      [
        `read ${path.join(sb.stateDir, 'console-table.json')}`,
        `read ${path.join(views, `${alice.uid}.json`)}`,
        `read ${path.join(views, `${bob.uid}.json`)}`,
        `read ${sb.sudoersFile}`,
        `walk ${sb.dir}`,
        'connect 20002',
        'connect 20012',
        `setgid-copy ${path.join(home, 'cat')}`,
        '',
      ].join('\n'),
    );
    await exec(['chown', '-R', `${alice.uid}:${alice.gid}`, home]);
    await chmod(home, 0o755);

    // Exactly what the launcher runs: the command in her view, with her display.
    const view = JSON.parse(await readFile(path.join(views, `${alice.uid}.json`), 'utf8')) as { vms: { id: string; command: string[] }[] };
    const run = await sb.run(['timeout', '90', ...view.vms.find((v) => v.id === 'vm1')!.command], { user: alice, env: { DISPLAY: x.display, XAUTHORITY: x.xauthority } });
    const text = await readFile(path.join(home, 'spy-result'), 'utf8').catch(() => '');
    assert.match(text, /\ndone\n$/, `the module did not run to the end (viewer exit ${run.code}): ${run.stderr.slice(-800)}\n${text}`);
    result = text.trim().split('\n');
  });
  after(async () => {
    await x?.stop();
    await sb?.cleanup();
  });

  test('the module runs as her, with the viewer group and no supplementary groups', () => {
    assert.equal(result[0], `ids ${alice.uid} ${alice.uid} ${gid} ${gid} groups 0`);
  });

  test('it cannot read the console table, the other user\'s view or sudoers; it reads her own view', () => {
    assert.notEqual(result.find((l) => l.startsWith(`read ${path.join(sb.stateDir, 'console-table.json')} `)), `read ${path.join(sb.stateDir, 'console-table.json')} OK`);
    assert.match(result.find((l) => l.includes(`/views/${bob.uid}.json`))!, /Permission denied$/);
    assert.match(result.find((l) => l.startsWith(`read ${sb.sudoersFile} `))!, /Permission denied$/);
    assert.match(result.find((l) => l.includes(`/views/${alice.uid}.json`))!, /OK$/);
  });

  test('nothing it can read anywhere in the sandbox shows the other user', async () => {
    const readable = result.filter((l) => l.startsWith('readable ')).map((l) => l.slice('readable '.length));
    assert.ok(readable.length > 0);
    for (const file of readable) {
      const content = await readFile(file).then((b) => b.toString('latin1'), () => '');
      for (const needle of [bob.name, bobVm, `"uid": ${bob.uid}`, `#${bob.uid} `]) assert.ok(!content.includes(needle), `${file} shows ${needle}`);
    }
  });

  test('it reaches her VM and not the other user\'s', () => {
    assert.equal(result.find((l) => l.startsWith('connect 20002 ')), 'connect 20002 OK');
    assert.equal(result.find((l) => l.startsWith('connect 20012 ')), 'connect 20012 Connection refused');
  });

  test('the setgid-viewer-group copy it leaves behind gives the other user nothing', async () => {
    assert.equal(result.find((l) => l.startsWith('setgid-copy ')), `setgid-copy ${path.join(home, 'cat')} OK`);
    const copy = path.join(home, 'cat');
    for (const file of [path.join(sb.stateDir, 'console-table.json'), path.join(sb.stateDir, 'views', `${alice.uid}.json`)]) {
      const r = await sb.run([copy, file], { user: bob });
      assert.notEqual(r.code, 0, `bob read ${file} through her copy`);
    }
  });
});
