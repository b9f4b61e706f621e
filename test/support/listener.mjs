// A dual-stack TCP listener for tests: accepts on every given port (IPv4 and IPv6) and closes at once.
import net from 'node:net';

for (const port of process.argv.slice(2).map(Number)) {
  net.createServer((s) => s.end()).listen({ port, host: '::', ipv6Only: false });
}
process.stdout.write('ready\n');
