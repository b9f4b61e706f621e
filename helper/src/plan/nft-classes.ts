// uids entitled to exactly the same endpoints share one rule in nft, instead of one set element per (uid, endpoint).
//
// A group of 500 entitled to 200 VMs is 100,000 (uid . address . port) elements, and loading those is most of
// what an apply at that size costs (nft parses ~10 µs per element). The same grants as a class are 500 map
// elements (uid → the class's chain) and 200 set elements (the class's endpoints): `meta skuid vmap` finds the
// class, its chain matches the endpoint. The grants are the same ones, tuple for tuple; only their spelling
// changes. This is the firewall's side of what sudoers does with one User_Alias per distinct set of VMs.
import { sha256 } from './digest.js';
import { perEndpoint, type Tuple, type TupleGroup } from './firewall-model.js';

/** uids sharing one endpoint set; endpoints spelled as nft lists them (`address . port`). */
export interface UidClass {
  /** Names the class's chain and sets; from its endpoints, so a class keeps its name while members come and go. */
  id: string;
  uids: number[];
  v4: string[];
  v6: string[];
}

/** A tuple group split into the tuples kept as set elements and the classes that replace the rest. */
export interface ClassedGroup {
  v4: Tuple[];
  v6: Tuple[];
  classes: UidClass[];
}

/**
 * Elements a class must save before it is worth its own chain and set. With nft 1.0.6 a class (set, chain, rule,
 * map entry) costs a load ~250 µs, a tuple element ~10 µs; a class-entitled connection also pays one more lookup.
 * Small policies keep their plain sets.
 */
export const CLASS_MIN_SAVING = 64;

/** Splits a group's tuples: uids with identical endpoint sets become classes where that saves enough elements. */
export function classify(g: TupleGroup): ClassedGroup {
  const text = perEndpoint((addr, port) => `${addr} . ${port}`);
  // Tuples come ordered by uid, then endpoint: each uid's endpoints are one run, in one canonical order.
  const byUid = new Map<number, { v4: string[]; v6: string[] }>();
  const collect = (tuples: Tuple[], family: 'v4' | 'v6') => {
    for (const t of tuples) {
      let e = byUid.get(t.uid);
      if (!e) byUid.set(t.uid, (e = { v4: [], v6: [] }));
      e[family].push(text(t));
    }
  };
  collect(g.v4, 'v4');
  collect(g.v6, 'v6');
  // Endpoints (as one string) → the uids that have exactly those.
  const byEndpoints = new Map<string, UidClass>();
  for (const uid of [...byUid.keys()].sort((a, b) => a - b)) {
    const e = byUid.get(uid)!;
    const key = `${e.v4.join(',')}|${e.v6.join(',')}`;
    const c = byEndpoints.get(key);
    if (c) c.uids.push(uid);
    else byEndpoints.set(key, { id: '', uids: [uid], v4: e.v4, v6: e.v6 });
  }
  const chosen = [...byEndpoints].filter(([, c]) => {
    const endpoints = c.v4.length + c.v6.length;
    return c.uids.length * endpoints - c.uids.length - endpoints >= CLASS_MIN_SAVING;
  });
  if (chosen.length === 0) return { v4: g.v4, v6: g.v6, classes: [] };
  const ids = new Set<string>();
  for (const [key, c] of chosen) {
    // Two classes under one name would be one set holding both classes' endpoints: never, however unlikely.
    let id = sha256(key).slice(0, 12);
    while (ids.has(id)) id = sha256(id).slice(0, 12);
    ids.add(id);
    c.id = id;
  }
  const classes = chosen.map(([, c]) => c);
  const classed = new Set(classes.flatMap((c) => c.uids));
  const kept = (tuples: Tuple[]) => tuples.filter((t) => !classed.has(t.uid));
  return { v4: kept(g.v4), v6: kept(g.v6), classes };
}
