// What `nft monitor` prints, read as data: transactions, who made them, and whether they touched our rules.
// Pure: tested with lines captured from Debian 12's nft 1.0.6 (test/unit/monitor-events.test.ts).
import { IPT_CHAIN } from '../plan/iptables.js';
import { NFT_TABLE } from '../plan/nft.js';

/** One committed netlink transaction: its event lines and the process that made it (when nft could tell). */
export interface Transaction {
  generation: number | null;
  pid: number | null;
  comm: string | null;
  lines: string[];
}

/** Which of our backends a change can have hurt. */
export type Side = 'nftables' | 'iptables';

const [OUR_FAMILY, OUR_TABLE] = NFT_TABLE.split(' ') as [string, string];
// iptables-nft keeps `iptables`/`ip6tables` rules in the tables `ip filter` / `ip6 filter`; our chain and the
// built-in chains that jump to it. A prefix, so chains added beside ours (CONSOLEGATE-…) count too.
const IPT_FAMILIES = new Set(['ip', 'ip6']);
const IPT_HOOK_CHAINS = new Set(['OUTPUT', 'FORWARD']);

// nft 1.0.6 closes each transaction with `# new generation 12 by process 4242 (nft)`; older ones without "by".
const GENERATION = /^# new generation (\d+)(?: by process (\d+) \((.*)\))?\s*$/;

// nft prints `# ERROR: We lost some netlink events!` when its socket overran (ENOBUFS) and carries on.
const LOST = /^# ERROR/;

/**
 * Reads monitor output line by line and hands over each transaction once its closing line arrives; `onLost` hears
 * at once that events were dropped (whose, nobody can tell).
 */
export class TransactionReader {
  private lines: string[] = [];

  constructor(
    private readonly onTransaction: (t: Transaction) => void,
    private readonly onLost: (message: string) => void = () => undefined,
  ) {}

  /** Feeds one line (without its newline). */
  line(text: string): void {
    if (LOST.test(text)) return this.onLost(text.replace(/^#\s*/, ''));
    const m = GENERATION.exec(text);
    if (m === null) {
      if (text.trim() !== '') this.lines.push(text);
      return;
    }
    const lines = this.lines;
    this.lines = [];
    this.onTransaction({
      generation: Number(m[1]),
      pid: m[2] === undefined ? null : Number(m[2]),
      comm: m[3] ?? null,
      lines,
    });
  }
}

/**
 * The backend whose rules one event line can have changed, or null for foreign objects. Lines read
 * `<verb> <object> <family> <table> [<chain or set> …]`, e.g. `delete rule ip filter OUTPUT handle 3`.
 */
export function sideOf(line: string): Side | null {
  const [, object, family, table, name] = line.trim().split(/\s+/);
  if (object === undefined || family === undefined || table === undefined) return null;
  if (family === OUR_FAMILY && table === OUR_TABLE) return 'nftables';
  if (IPT_FAMILIES.has(family) && table === 'filter') {
    // Deleting the table or a chain takes our jump or chain with it; a rule or chain event names its chain.
    if (object === 'table') return 'iptables';
    if (name !== undefined && (IPT_HOOK_CHAINS.has(name) || name.startsWith(IPT_CHAIN))) return 'iptables';
  }
  return null;
}

/** Both sides a transaction touched, with the first line that touched each (for the log). */
export function sidesOf(t: Transaction): Map<Side, string> {
  const found = new Map<Side, string>();
  for (const l of t.lines) {
    const s = sideOf(l);
    if (s !== null && !found.has(s)) found.set(s, l.length > 120 ? `${l.slice(0, 117)}...` : l);
  }
  return found;
}
