// What the real-console lab needs from the system, and which Debian package brings each piece.
import { accessSync, constants } from 'node:fs';

/** A program the lab runs, with the Debian 12 package to install when it is missing. */
export interface Tool {
  name: string;
  path: string;
  pkg: string;
}

/** Everything the e2e test and the demo start; the same list feeds scripts/apt-packages.txt. */
export const LAB_TOOLS: readonly Tool[] = [
  { name: 'QEMU', path: '/usr/bin/qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { name: 'SeaBIOS', path: '/usr/share/seabios/bios-256k.bin', pkg: 'seabios' },
  { name: 'QXL VGA BIOS', path: '/usr/share/seabios/vgabios-qxl.bin', pkg: 'seabios' },
  { name: 'remote-viewer', path: '/usr/bin/remote-viewer', pkg: 'virt-viewer' },
  { name: 'Xvfb', path: '/usr/bin/Xvfb', pkg: 'xvfb' },
  { name: 'xauth', path: '/usr/bin/xauth', pkg: 'xauth' },
  { name: 'ImageMagick import', path: '/usr/bin/import', pkg: 'imagemagick' },
  { name: 'openssl', path: '/usr/bin/openssl', pkg: 'openssl' },
  { name: 'nft', path: '/usr/sbin/nft', pkg: 'nftables' },
  { name: 'sudo', path: '/usr/bin/sudo', pkg: 'sudo' },
  { name: 'socat', path: '/usr/bin/socat', pkg: 'socat' },
  { name: 'ip', path: '/usr/sbin/ip', pkg: 'iproute2' },
  { name: 'nsenter', path: '/usr/bin/nsenter', pkg: 'util-linux' },
  { name: 'setpriv', path: '/usr/bin/setpriv', pkg: 'util-linux' },
  { name: 'useradd', path: '/usr/sbin/useradd', pkg: 'passwd' },
  { name: 'dbus-daemon', path: '/usr/bin/dbus-daemon', pkg: 'dbus-daemon' },
];

/** The tools that are not there (or not usable), each once. */
export function missingTools(tools: readonly Tool[] = LAB_TOOLS): Tool[] {
  return tools.filter((t) => {
    try {
      accessSync(t.path, t.path.endsWith('.bin') ? constants.R_OK : constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/** One line naming what to install, or null when nothing is missing. */
export function missingLine(tools: readonly Tool[] = LAB_TOOLS): string | null {
  const missing = missingTools(tools);
  if (missing.length === 0) return null;
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  return `missing ${missing.map((t) => t.name).join(', ')}: install the Debian package${pkgs.length > 1 ? 's' : ''} ${pkgs.join(' ')} (apt-get install ${pkgs.join(' ')})`;
}
