// Pretty JSON text (as `JSON.stringify(value, null, 2)` writes it) built from item texts the caller may reuse:
// 10,000 view files share the text of each VM's entry, which is then serialized once instead of once per user.

/** `JSON.stringify(item, null, 2)` indented as an item of a list that is a top-level object's value. */
export function listItemText(item: unknown): string {
  // JSON text holds no raw line break inside a string, so every '\n' starts a line to indent.
  return '    ' + JSON.stringify(item, null, 2).replaceAll('\n', '\n    ');
}

/**
 * Exactly `JSON.stringify(value, null, 2)` when `value[key]` is its last key and holds items whose `listItemText`
 * are `itemTexts`, in order. Any other layout falls back to stringify.
 */
export function prettyJsonWithItems<T extends object>(value: T, key: keyof T & string, itemTexts: readonly string[]): string {
  const head = JSON.stringify({ ...value, [key]: [] }, null, 2);
  const items = value[key];
  if (itemTexts.length === 0 || !head.endsWith(`\n  ${JSON.stringify(key)}: []\n}`) || !Array.isArray(items) || items.length !== itemTexts.length) {
    return JSON.stringify(value, null, 2);
  }
  // Concatenated, not joined: V8 keeps the shared pieces as a rope and copies the bytes once, when the file is
  // written, instead of once here and again there.
  let body = itemTexts[0]!;
  for (let i = 1; i < itemTexts.length; i++) body = body + ',\n' + itemTexts[i]!;
  return `${head.slice(0, -'[]\n}'.length)}[\n${body}\n  ]\n}`;
}
