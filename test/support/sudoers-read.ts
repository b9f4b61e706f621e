// Reads a rendered consolegate sudoers file back as sudo resolves it: which subject (`#uid`, `%#gid`) may run which
// VM's open-console command. Throws on any line it does not know, so a test cannot pass over an unexpected shape.

/** What the file allows, and how many list members sudo parses for it (its per-click cost). */
export interface SudoersReading {
  /** Subject as written (`#1001`, `%#2000`) → the VM ids it may open, sorted. */
  allows: Map<string, string[]>;
  /** Every member of every list: each `#uid`/`%#gid`, each alias reference in a rule, each Cmnd_Alias command. */
  members: number;
}

/** Reads `text`; `openConsole` is the command every Cmnd_Alias must name. */
export function readSudoers(text: string, openConsole: string): SudoersReading {
  const cmnds = new Map<string, string>();
  const users = new Map<string, string[]>();
  const allows = new Map<string, Set<string>>();
  let members = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# ') || line.startsWith(`Defaults!${openConsole} `)) continue;
    let m = /^Cmnd_Alias (CG_[A-Z0-9_]+) = (\S+)(?: --state-dir \S+)? ([a-z0-9][a-z0-9_-]*)$/.exec(line);
    if (m) {
      if (m[2] !== openConsole || cmnds.has(m[1]!)) throw new Error(`bad Cmnd_Alias: ${line}`);
      cmnds.set(m[1]!, m[3]!);
      members++;
      continue;
    }
    m = /^User_Alias (CG_U_\d+) = ((?:%?#\d+)(?:, %?#\d+)*)$/.exec(line);
    if (m) {
      if (users.has(m[1]!)) throw new Error(`User_Alias defined twice: ${line}`);
      users.set(m[1]!, m[2]!.split(', '));
      members += users.get(m[1]!)!.length;
      continue;
    }
    m = /^(%?#\d+|CG_U_\d+) ALL=\(root\) NOPASSWD: (CG_[A-Z0-9_]+(?:, CG_[A-Z0-9_]+)*)$/.exec(line);
    if (!m) throw new Error(`unexpected sudoers line: ${JSON.stringify(line)}`);
    const who = m[1]!.startsWith('CG_U_') ? users.get(m[1]!) : [m[1]!];
    if (!who) throw new Error(`rule before its User_Alias: ${line}`);
    if (!m[1]!.startsWith('CG_U_')) members++;
    for (const alias of m[2]!.split(', ')) {
      const vm = cmnds.get(alias);
      if (vm === undefined) throw new Error(`rule names an undefined Cmnd_Alias: ${line}`);
      members++;
      for (const w of who) allows.set(w, (allows.get(w) ?? new Set()).add(vm));
    }
  }
  return { allows: new Map([...allows].map(([w, vms]) => [w, [...vms].sort()])), members };
}
