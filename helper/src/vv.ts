// The .vv connection file remote-viewer reads on stdin; GKeyFile syntax, so values are escaped.

/** What one console connection needs. */
export interface VvSpec {
  host: string;
  tlsPort: number;
  password: string | null;
  ca: string;
  hostSubject: string;
  title: string;
}

/** GKeyFile string escaping: backslash first, then line breaks and a leading space. */
export function escapeValue(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\r', '\\r').replaceAll('\t', '\\t').replace(/^ /, '\\s');
}

/** Renders the file. TLS on every channel, verified against the policy's CA and host subject. */
export function renderVv(s: VvSpec): string {
  const lines: [string, string][] = [
    ['type', 'spice'],
    ['host', s.host],
    ['tls-port', String(s.tlsPort)],
    ...(s.password !== null ? ([['password', s.password]] as [string, string][]) : []),
    ['ca', s.ca.trim()],
    ['host-subject', s.hostSubject],
    ['secure-channels', 'all'],
    ['title', s.title],
  ];
  return ['[virt-viewer]', ...lines.map(([k, v]) => `${k}=${escapeValue(v)}`), ''].join('\n');
}
