// A test CA and a SPICE server certificate signed by it (openssl, EC P-256: fast to make, accepted by spice-server).
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** Files QEMU's `x509-dir` wants (ca-cert.pem, server-cert.pem, server-key.pem), plus the CA for clients. */
export interface ServerPki {
  x509Dir: string;
  caFile: string;
  caPem: string;
  hostSubject: string;
}

/** Makes a CA named `caName` and, in `dir`, a server certificate with subject O=…,CN=… signed by it. */
export async function makeServerPki(dir: string, opts: { org: string; cn: string; caName: string }): Promise<ServerPki> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const f = (n: string) => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await execa('openssl', ['req', '-x509', ...ec, '-keyout', f('ca-key.pem'), '-out', f('ca-cert.pem'), '-days', '7', '-subj', `/O=${opts.org}/CN=${opts.caName}`]);
  await execa('openssl', ['req', ...ec, '-keyout', f('server-key.pem'), '-out', f('server.csr'), '-subj', `/O=${opts.org}/CN=${opts.cn}`]);
  await execa('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca-cert.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f('server-cert.pem'), '-days', '7']);
  // QEMU runs as root here; keys stay root-only, certificates are public.
  await chmod(f('server-key.pem'), 0o600);
  await chmod(f('ca-key.pem'), 0o600);
  return { x509Dir: dir, caFile: f('ca-cert.pem'), caPem: await readFile(f('ca-cert.pem'), 'utf8'), hostSubject: `O=${opts.org},CN=${opts.cn}` };
}

/** A CA that signed nothing the server has: pointing the policy at it must fail TLS verification. */
export async function makeStrayCa(file: string, name: string): Promise<string> {
  const key = `${file}.key`;
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', file, '-days', '7', '-subj', `/O=${name}/CN=${name} CA`]);
  await chmod(key, 0o600);
  return readFile(file, 'utf8');
}

/** Writes a file with a mode in one go (used for CA copies the policy points at). */
export async function writeWithMode(file: string, text: string, mode: number): Promise<void> {
  await writeFile(file, text, { mode });
  await chmod(file, mode);
}
