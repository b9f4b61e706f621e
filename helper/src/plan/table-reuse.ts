// The console table of a change, VM by VM: at 100,000 entitlements it is 7 MB of JSON whose rendering took ~0.1 s of
// a one-change apply, though a change touches a few VMs. So the last table's text (read back by the caller, and
// the very bytes the last plan hashed) is cut into its VMs' blocks, and a VM keeps its block when its grants are
// the same (its basis, view-reuse.ts) and so is what the table says of it; only the other blocks are rendered.
import type { Facts } from '../policy/facts.js';
import type { Policy } from '../policy/types.js';
import type { Grant } from './grants.js';
import { basisIds } from './view-reuse.js';
import { renderTable, tableFields, tableHead, type TableVm } from './views.js';

/** The last plan's table: its text as written, and the basis of its grants (ViewKeys.basis). */
export interface LastTable {
  text: string;
  basis: Record<string, string>;
}

/** console-table.json's content (JSON, two-space indent, final newline), reusing the VMs of `last` that did not change. */
export function tableText(policy: Policy, facts: Facts, grants: readonly Grant[], basis: Record<string, string>, last: LastTable | null): string {
  return (last && reuse(policy, facts, grants, basis, last)) ?? JSON.stringify(renderTable(policy, facts, grants), null, 2) + '\n';
}

// JSON.stringify(table, null, 2) with VMs is `{ …head…,\n  "vms": {\n` + the blocks joined by `,\n` + TAIL.
const TAIL = '\n  }\n}\n';

function reuse(policy: Policy, facts: Facts, grants: readonly Grant[], basis: Record<string, string>, last: LastTable): string | null {
  const ids = basisIds(basis);
  const empty = JSON.stringify({ ...tableHead(policy, facts), vms: {} }, null, 2);
  if (ids.length === 0 || !empty.endsWith('{}\n}')) return null;
  const head = `${empty.slice(0, -'}\n}'.length)}\n`;
  const blocks = cut(last, head);
  if (blocks === null) return null;
  // A VM is rendered when its grants changed, or what the table says of it (its block's start up to the grants).
  const changed = new Set<string>();
  for (const id of ids) {
    const was = blocks.get(id);
    if (was === undefined || basis[id] !== last.basis[id] || !was.startsWith(blockText(id, { ...tableFields(policy, facts, id), grants: [] }).slice(0, -']\n    }'.length))) changed.add(id);
  }
  const fresh = changed.size === 0 ? null : renderTable(policy, facts, grants.filter((g) => changed.has(g.vm))).vms;
  return `${head}${ids.map((id) => (changed.has(id) ? blockText(id, fresh![id]!) : blocks.get(id)!)).join(',\n')}${TAIL}`;
}

/**
 * The last table's blocks by VM id, or null when its text is not `head` and one block for each VM of its basis, in
 * order. Every line inside a block is indented deeper than its first and last, so the next block's first line is
 * found by its text.
 */
function cut(last: LastTable, head: string): Map<string, string> | null {
  const { text } = last;
  const ids = basisIds(last.basis);
  if (ids.length === 0 || !text.startsWith(head) || !text.endsWith(TAIL)) return null;
  const blocks = new Map<string, string>();
  let at = head.length;
  for (let i = 0; i < ids.length; i++) {
    if (!text.startsWith(keyLine(ids[i]!), at)) return null;
    const end = i + 1 < ids.length ? text.indexOf(`,\n${keyLine(ids[i + 1]!)}`, at) : text.length - TAIL.length;
    if (end < at) return null;
    blocks.set(ids[i]!, text.slice(at, end));
    at = end + 2;
  }
  return blocks;
}

function keyLine(id: string): string {
  return `    ${JSON.stringify(id)}: {\n`;
}

/** A VM's block as JSON.stringify(table, null, 2) writes it. */
function blockText(id: string, vm: TableVm): string {
  return `    ${JSON.stringify(id)}: ${JSON.stringify(vm, null, 2).replaceAll('\n', '\n    ')}`;
}
