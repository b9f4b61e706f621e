// classify(): every failure reason from the real output of sudo, open-console and remote-viewer (captured on Debian 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { classify, type Observations } from '../../../electron/services/console-classify.js';
import { explain, type ConsoleState } from '../../../electron/services/console-text.js';
import { isDenyLine } from '../../../electron/services/kmsg.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/console/${name}`, import.meta.url), 'utf8');

const base: Observations = { running: false, connected: false, stopped: false, timedOut: false, kernelLog: 'unreadable', endpoint: 'vm.test:5931' };
const obs = (o: Partial<Observations> = {}): Observations => ({ ...base, ...o });
const reason = (s: ConsoleState): string => (s.state === 'failed' ? s.reason : s.state);

test('open-console exit codes with its one-line message map to their reasons', () => {
  const cases: [number, string][] = [
    [65, 'no-sudo-rule'],
    [66, 'no-policy'],
    [67, 'not-entitled'],
    [68, 'outside-window'],
    [69, 'viewer-unavailable'],
    [64, 'unknown'],
    [70, 'unknown'],
  ];
  for (const [code, want] of cases) {
    const s = classify(code, 'open-console: something specific\n', obs());
    assert.equal(reason(s), want, `exit ${code}`);
    assert.ok(s.state === 'failed' && s.message.includes('something specific'), 'the message keeps open-console\'s words');
  }
});

test('an exit code in 64–70 without an open-console line is the viewer\'s, not a refusal', () => {
  assert.equal(reason(classify(67, 'some viewer noise\n', obs())), 'unknown');
});

test('outside-window keeps open-console\'s "when" in the message', () => {
  const s = classify(68, 'open-console: debianx is available Mon, Tue 08:00-18:00; now is Sun 10:00\n', obs());
  assert.equal(reason(s), 'outside-window');
  assert.match(s.state === 'failed' ? s.message : '', /Mon, Tue 08:00-18:00/);
});

test('sudo without a matching rule → no-sudo-rule (real sudo 1.9.13 text)', () => {
  assert.equal(reason(classify(1, 'sudo: a password is required\n', obs())), 'no-sudo-rule');
  assert.equal(reason(classify(1, 'Sorry, user bob is not allowed to execute \'/x\' as bob:spicegrp on host.\nsudo: a password is required\n', obs())), 'no-sudo-rule');
});

test('sudo: unknown viewer group → no-policy (the policy was never applied here)', () => {
  assert.equal(reason(classify(1, 'sudo: unknown group spicegrp\nsudo: error initializing audit plugin sudoers_audit\n', obs())), 'no-policy');
});

test('sudo missing altogether → no-sudo-rule with execa\'s message', () => {
  const s = classify(null, '', obs({ spawnError: 'Command failed with ENOENT: sudo -n …\nspawn sudo ENOENT' }));
  assert.equal(reason(s), 'no-sudo-rule');
});

test('wrong CA: spice-common\'s chain verification warning → tls-error', () => {
  const s = classify(null, fixture('viewer-wrong-ca.log'), obs({ running: true }));
  assert.equal(reason(s), 'tls-error');
  assert.match(s.state === 'failed' ? s.message : '', /self-signed certificate in certificate chain/);
});

test('wrong host subject → tls-error naming the subject', () => {
  const s = classify(null, fixture('viewer-wrong-subject.log'), obs({ running: true }));
  assert.equal(reason(s), 'tls-error');
  assert.match(s.state === 'failed' ? s.message : '', /subject 'O=consolegate-test,CN=other.test' verification failed/);
});

test('wrong password: virt-viewer\'s "main channel: auth failure" (needs --debug) → wrong-password', () => {
  assert.equal(reason(classify(null, fixture('viewer-wrong-password.log'), obs({ running: true }))), 'wrong-password');
});

test('connection refused: firewall when the kernel log shows our deny, server when the log is readable and silent', () => {
  const out = fixture('viewer-refused.log');
  assert.equal(reason(classify(null, out, obs({ running: true, kernelLog: 'deny-seen' }))), 'firewall-refused');
  assert.equal(reason(classify(null, out, obs({ running: true, kernelLog: 'no-deny' }))), 'unreachable');
});

test('connection refused with an unreadable kernel log says honestly that it cannot tell firewall from server', () => {
  const s = classify(null, fixture('viewer-refused.log'), obs({ running: true, kernelLog: 'unreadable' }));
  assert.equal(reason(s), 'firewall-refused');
  assert.match(s.state === 'failed' ? s.message : '', /firewall or the server/);
});

test('a deny in the kernel log wins even when the viewer printed nothing (no --debug)', () => {
  assert.equal(reason(classify(null, '', obs({ running: true, timedOut: true, kernelLog: 'deny-seen' }))), 'firewall-refused');
});

test('name resolution failure → unreachable with the resolver\'s words', () => {
  const s = classify(null, fixture('viewer-unresolvable.log'), obs({ running: true }));
  assert.equal(reason(s), 'unreachable');
  assert.match(s.state === 'failed' ? s.message : '', /Error resolving/);
});

test('no display → unknown, saying so', () => {
  const s = classify(1, fixture('viewer-no-display.log'), obs());
  assert.equal(reason(s), 'unknown');
  assert.match(s.state === 'failed' ? s.message : '', /cannot open display/);
});

test('a good connection\'s debug output is not mistaken for a failure', () => {
  const out = fixture('viewer-ok.log');
  assert.deepEqual(classify(null, out, obs({ running: true })), { state: 'launching' });
  assert.deepEqual(classify(null, out, obs({ running: true, connected: true })), { state: 'connected' });
  assert.deepEqual(classify(0, out, obs({ connected: true })), { state: 'closed', exitCode: 0 });
});

test('once connected, later warnings do not turn a session into a failure', () => {
  const out = fixture('viewer-ok.log') + fixture('viewer-refused.log');
  assert.deepEqual(classify(null, out, obs({ running: true, connected: true })), { state: 'connected' });
  assert.deepEqual(classify(1, out, obs({ connected: true })), { state: 'closed', exitCode: 1 });
});

test('a refused certificate or password is final even when the sockets already counted as connected', () => {
  assert.equal(reason(classify(null, fixture('viewer-wrong-ca.log'), obs({ running: true, connected: true }))), 'tls-error');
  assert.equal(reason(classify(null, fixture('viewer-wrong-password.log'), obs({ running: true, connected: true }))), 'wrong-password');
  assert.equal(reason(classify(null, fixture('viewer-ok.log') + fixture('viewer-wrong-subject.log'), obs({ running: true, connected: true }))), 'tls-error');
});

test('stop() while launching ends as closed, not as a failure', () => {
  assert.deepEqual(classify(null, '', obs({ stopped: true })), { state: 'closed', exitCode: null });
});

test('timeout with no word from the viewer → unknown, and says there was no reason given', () => {
  const s = classify(null, '', obs({ running: true, timedOut: true }));
  assert.equal(reason(s), 'unknown');
  assert.match(s.state === 'failed' ? s.message : '', /gave no reason/);
});

test('a silent non-zero exit before connecting → unknown with the exit status', () => {
  const s = classify(1, 'last words\n', obs());
  assert.equal(reason(s), 'unknown');
  assert.match(s.state === 'failed' ? s.message : '', /exit status 1: last words/);
});

test('explain() gives every reason words and a hint', () => {
  const s = explain('tls-error', 'detail');
  assert.equal(s.state, 'failed');
  assert.ok(s.message.endsWith('(detail)') && s.hint.length > 0);
});

test('isDenyLine matches our prefix, the uid and the port exactly (nft log format)', () => {
  const line = 'consolegate-deny IN= OUT=lo SRC=127.0.0.1 DST=127.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=5931 WINDOW=65495 RES=0x00 SYN URGP=0 UID=1002 GID=1002 ';
  assert.ok(isDenyLine(line, { uid: 1002, port: 5931 }));
  assert.ok(!isDenyLine(line, { uid: 100, port: 5931 }), 'UID=1002 is not UID=100');
  assert.ok(!isDenyLine(line, { uid: 1002, port: 593 }));
  assert.ok(!isDenyLine(line.replace('consolegate-deny', 'other'), { uid: 1002, port: 5931 }));
});
