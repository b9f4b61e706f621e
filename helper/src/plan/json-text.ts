// Pretty JSON text (as `JSON.stringify(value, null, 2)` writes it) built from item texts the caller may reuse:
// 10,000 view files share the text of each VM's entry, which is then serialized once instead of once per user.

/** `JSON.stringify(item, null, 2)` indented as an item of a list that is a top-level object's value. */
export function listItemText(item: unknown): string {
  // JSON text holds no raw line break inside a string, so every '\n' starts a line to indent.
  return '    ' + JSON.stringify(item, null, 2).replaceAll('\n', '\n    ');
}

/** A JSON text as `head`, then `items` with ITEM_SEPARATOR between them, then `tail`. */
export interface JsonPieces {
  head: string;
  items: readonly string[];
  tail: string;
}

/** Between two items of the list. */
export const ITEM_SEPARATOR = ',\n';

/**
 * Exactly `JSON.stringify(value, null, 2)` as pieces, when `value[key]` is its last key and holds items whose
 * `listItemText` are `itemTexts`, in order: the text is `head`, the items with ITEM_SEPARATOR between them, then
 * `tail`. Null for any other layout.
 */
export function jsonWithItemsPieces<T extends object>(value: T, key: keyof T & string, itemTexts: readonly string[]): JsonPieces | null {
  const head = JSON.stringify({ ...value, [key]: [] }, null, 2);
  const items = value[key];
  if (itemTexts.length === 0 || !head.endsWith(`\n  ${JSON.stringify(key)}: []\n}`) || !Array.isArray(items) || items.length !== itemTexts.length) {
    return null;
  }
  return { head: `${head.slice(0, -'[]\n}'.length)}[\n`, items: itemTexts, tail: '\n  ]\n}' };
}

/** The text of `pieces` (null for null). */
export function joinPieces(pieces: JsonPieces | null): string | null {
  if (pieces === null) return null;
  // Concatenated, not joined: V8 keeps the shared pieces as a rope and copies the bytes once, when the file is
  // written, instead of once here and again there.
  let body = pieces.items[0]!;
  for (let i = 1; i < pieces.items.length; i++) body = body + ITEM_SEPARATOR + pieces.items[i]!;
  return pieces.head + body + pieces.tail;
}
