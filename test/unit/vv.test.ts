// The .vv file: nothing a value contains can add a key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeValue, renderVv } from '../../helper/src/vv.js';

test('renders TLS-only connection settings with the CA inline', () => {
  const vv = renderVv({ host: 'srv.example', tlsPort: 20002, password: 'pw', ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', hostSubject: 'O=Ex,CN=srv', title: 'Books' });
  assert.equal(
    vv,
    '[virt-viewer]\ntype=spice\nhost=srv.example\ntls-port=20002\npassword=pw\nca=-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\nhost-subject=O=Ex,CN=srv\nsecure-channels=all\ntitle=Books\n',
  );
});
test('a password cannot inject keys or escape sequences', () => {
  const vv = renderVv({ host: 'h', tlsPort: 1, password: 'a\nsecure-channels=none\\n', ca: 'x', hostSubject: 's', title: 't' });
  assert.equal(vv.split('\n').filter((l) => l.startsWith('secure-channels=')).length, 1);
  assert.match(vv, /^password=a\\nsecure-channels=none\\\\n$/m);
  assert.equal(escapeValue(' lead'), '\\slead');
});
test('no password, no password line', () => {
  assert.doesNotMatch(renderVv({ host: 'h', tlsPort: 1, password: null, ca: 'x', hostSubject: 's', title: 't' }), /password/);
});
