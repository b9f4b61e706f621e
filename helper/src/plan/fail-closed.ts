// Fail closed: the firewall a failed apply leaves behind is never more open than both the rules in force and the
// new policy allow. Pure: two firewall models in, their intersection out.
import { compareTuples, type FirewallModel, type Tuple, type TupleGroup } from './firewall-model.js';
import { mergeRanges } from './ports.js';
import type { UtcSlot } from './utc.js';

/** When a tuple may connect under one model: always, never, or within these slot sets (any of them). */
type Allowed = 'always' | 'never' | UtcSlot[][];

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
  const [a, b] = [allowedByTuple(inForce), allowedByTuple(wanted)];
  const keep = new Map<string, { slots: UtcSlot[] | null; tuples: Tuple[] }>();
  for (const [key, tuple] of new Map([...a.tuples, ...b.tuples])) {
    const both = intersect(allowedIn(inForce, a, key, tuple), allowedIn(wanted, b, key, tuple));
    if (both === 'never') continue;
    // One restriction per resulting group: "always", or one slot set (a tuple allowed in several is in several).
    for (const slots of both === 'always' ? [null] : both) {
      const groupKey = JSON.stringify(slots);
      const g = keep.get(groupKey) ?? { slots, tuples: [] };
      g.tuples.push(tuple);
      keep.set(groupKey, g);
    }
  }
  const groups: TupleGroup[] = [];
  let n = 0;
  for (const [, g] of [...keep].sort(([x], [y]) => (x === 'null' ? -1 : y === 'null' ? 1 : x < y ? -1 : x > y ? 1 : 0))) {
    const sorted = g.tuples.sort(compareTuples);
    groups.push({ name: g.slots === null ? 'allow' : `window${++n}`, slots: g.slots, v4: sorted.filter((t) => !t.addr.includes(':')), v6: sorted.filter((t) => t.addr.includes(':')) });
  }
  return { ...wanted, ports, groups, log: inForce.log || wanted.log };
}

/** Every tuple of a model, by key, with the slot sets of the groups it appears in (null slots: always). */
function allowedByTuple(m: FirewallModel): { tuples: Map<string, Tuple>; slots: Map<string, (UtcSlot[] | null)[]> } {
  const tuples = new Map<string, Tuple>();
  const slots = new Map<string, (UtcSlot[] | null)[]>();
  for (const g of m.groups) {
    for (const t of [...g.v4, ...g.v6]) {
      const key = `${t.uid} ${t.addr} ${t.port}`;
      tuples.set(key, t);
      slots.set(key, [...(slots.get(key) ?? []), g.slots]);
    }
  }
  return { tuples, slots };
}

/** What model `m` allows for one tuple: anything on a port it does not protect, else what its groups grant. */
function allowedIn(m: FirewallModel, index: ReturnType<typeof allowedByTuple>, key: string, t: Tuple): Allowed {
  if (!m.ports.some((p) => t.port >= p.from && t.port <= p.to)) return 'always';
  const slots = index.slots.get(key);
  if (!slots) return 'never';
  if (slots.includes(null)) return 'always';
  return canonical(slots as UtcSlot[][]);
}

function intersect(x: Allowed, y: Allowed): Allowed {
  if (x === 'never' || y === 'never') return 'never';
  if (x === 'always') return y;
  if (y === 'always') return x;
  return JSON.stringify(x) === JSON.stringify(y) ? x : 'never';
}

function canonical(sets: UtcSlot[][]): UtcSlot[][] {
  return [...sets].sort((p, q) => (JSON.stringify(p) < JSON.stringify(q) ? -1 : 1));
}
