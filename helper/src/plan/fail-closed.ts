// Fail closed: the firewall a failed apply leaves behind is never more open than both the rules in force and the
// new policy allow. Pure: two firewall models in, their intersection out.
import { compareTuples, type FirewallModel, type Tuple, type TupleGroup } from './firewall-model.js';
import { mergeRanges } from './ports.js';
import type { UtcSlot } from './utc.js';

/**
 * When a tuple may connect under one model: always, never, or within these slot sets (any of them); `json` is
 * their text, made once per distinct combination of groups rather than once per tuple (100,000 tuples).
 */
type Allowed = 'always' | 'never' | { sets: UtcSlot[][]; json: string };

/**
 * The firewall that allows a connection only when both `inForce` and `wanted` allow it. Either may be null (no
 * rules in force yet; a new policy that could not be read at all): then the other's protected ports are closed to
 * everyone. Protected ports are the union of both, so a port either policy guards stays guarded. Time windows of
 * a tuple that differ between the two are not intersected slot by slot: such a tuple is left out (more closed).
 */
export function intersectModels(inForce: FirewallModel | null, wanted: FirewallModel | null): FirewallModel | null {
  if (inForce === null && wanted === null) return null;
  if (inForce === null || wanted === null) {
    const known = (inForce ?? wanted)!;
    return { ...known, groups: [] };
  }
  const ports = mergeRanges([...inForce.ports, ...wanted.ports]);
  // Grants name the viewer group's gid; a changed gid means no tuple is allowed by both.
  if (String(inForce.viewerGid) !== String(wanted.viewerGid)) return { ...wanted, ports, groups: [], log: inForce.log || wanted.log };
  const [a, b] = [new TupleIndex(inForce), new TupleIndex(wanted)];
  const keep = new Map<string, { slots: UtcSlot[] | null; tuples: Tuple[] }>();
  const slotKeys = new Map<UtcSlot[] | null, string>();
  const visit = (key: string, tuple: Tuple): void => {
    const both = intersect(a.allowed(key, tuple), b.allowed(key, tuple));
    if (both === 'never') return;
    // One restriction per resulting group: "always", or one slot set (a tuple allowed in several is in several).
    for (const slots of both === 'always' ? [null] : both.sets) {
      let groupKey = slotKeys.get(slots);
      if (groupKey === undefined) slotKeys.set(slots, (groupKey = JSON.stringify(slots)));
      let g = keep.get(groupKey);
      if (!g) keep.set(groupKey, (g = { slots, tuples: [] }));
      g.tuples.push(tuple);
    }
  };
  // Every tuple of either model once: those of `inForce` first (as `wanted` spells them when it has them too).
  for (const [key, entry] of a.byKey) visit(key, b.byKey.get(key)?.tuple ?? entry.tuple);
  for (const [key, entry] of b.byKey) if (!a.byKey.has(key)) visit(key, entry.tuple);
  const groups: TupleGroup[] = [];
  let n = 0;
  for (const [, g] of [...keep].sort(([x], [y]) => (x === 'null' ? -1 : y === 'null' ? 1 : x < y ? -1 : x > y ? 1 : 0))) {
    const v4: Tuple[] = [];
    const v6: Tuple[] = [];
    for (const t of g.tuples.sort(compareTuples)) (t.addr.includes(':') ? v6 : v4).push(t);
    groups.push({ name: g.slots === null ? 'allow' : `window${++n}`, slots: g.slots, v4, v6 });
  }
  return { ...wanted, ports, groups, log: inForce.log || wanted.log };
}

/** Every tuple of a model, by key, with the groups it appears in; and what the model allows for a tuple. */
class TupleIndex {
  readonly byKey = new Map<string, { tuple: Tuple; groups: number[] }>();
  // What a tuple in exactly group i is allowed, and in several groups (by their indices), made once each.
  private readonly single: Allowed[] = [];
  private readonly canonical = new Map<string, Allowed>();

  constructor(private readonly m: FirewallModel) {
    m.groups.forEach((g, i) => {
      for (const list of [g.v4, g.v6]) {
        for (const t of list) {
          const key = `${t.uid} ${t.addr} ${t.port}`;
          const entry = this.byKey.get(key);
          if (entry) {
            entry.tuple = t;
            entry.groups.push(i);
          } else this.byKey.set(key, { tuple: t, groups: [i] });
        }
      }
    });
  }

  /** What the model allows for one tuple: anything on a port it does not protect, else what its groups grant. */
  allowed(key: string, t: Tuple): Allowed {
    if (!this.protects(t.port)) return 'always';
    const entry = this.byKey.get(key);
    if (!entry) return 'never';
    if (entry.groups.length === 1) return (this.single[entry.groups[0]!] ??= this.fromGroups(entry.groups));
    const signature = entry.groups.join(',');
    let allowed = this.canonical.get(signature);
    if (allowed === undefined) this.canonical.set(signature, (allowed = this.fromGroups(entry.groups)));
    return allowed;
  }

  private protects(port: number): boolean {
    for (const p of this.m.ports) if (port >= p.from && port <= p.to) return true;
    return false;
  }

  private fromGroups(groups: number[]): Allowed {
    const slots = groups.map((i) => this.m.groups[i]!.slots);
    if (slots.includes(null)) return 'always';
    const sets = [...(slots as UtcSlot[][])].sort((p, q) => (JSON.stringify(p) < JSON.stringify(q) ? -1 : 1));
    return { sets, json: JSON.stringify(sets) };
  }
}

function intersect(x: Allowed, y: Allowed): Allowed {
  if (x === 'never' || y === 'never') return 'never';
  if (x === 'always') return y;
  if (y === 'always') return x;
  return x.json === y.json ? x : 'never';
}
