// Pretty JSON text (as `JSON.stringify(value, null, 2)` writes it) built from item texts the caller may reuse:
// 10,000 view files share the text of each VM's entry, and 100,000 console-table grants share a few window texts,
// so each is serialized once instead of once per user or grant.

/**
 * `JSON.stringify(item, null, 2)` as an item of a list that is a key's value inside an object whose own lines
 * start with `indent` (`''` for a top-level object).
 */
export function listItemText(item: unknown, indent = ''): string {
  const at = `${indent}    `;
  // JSON text holds no raw line break inside a string, so every '\n' starts a line to indent.
  return at + JSON.stringify(item, null, 2).replaceAll('\n', `\n${at}`);
}

/**
 * Exactly `JSON.stringify(value, null, 2)` (its lines after the first starting with `indent`) when `value[key]`
 * is its last key and holds items whose `listItemText(item, indent)` are `itemTexts`, in order. Any other layout
 * falls back to stringify.
 */
export function prettyJsonWithItems<T extends object>(value: T, key: keyof T & string, itemTexts: readonly string[], indent = ''): string {
  const head = JSON.stringify({ ...value, [key]: [] }, null, 2).replaceAll('\n', `\n${indent}`);
  const close = `\n${indent}}`;
  const items = value[key];
  if (itemTexts.length === 0 || !head.endsWith(`\n${indent}  ${JSON.stringify(key)}: []${close}`) || !Array.isArray(items) || items.length !== itemTexts.length) {
    return JSON.stringify(value, null, 2).replaceAll('\n', `\n${indent}`);
  }
  return `${head.slice(0, -`[]${close}`.length)}[\n${itemTexts.join(',\n')}\n${indent}  ]${close}`;
}

/**
 * The `listItemText` of `{ [key]: n, ...rest }` for any number `n`, made from one serialization of `rest`: the
 * text before and after the number. The key must come first and `rest` must not hold it.
 */
export function numberFirstItem(key: string, rest: object, indent = ''): (n: number) => string {
  const sample = listItemText({ [key]: 0, ...rest }, indent);
  const mark = `${JSON.stringify(key)}: 0`;
  const at = sample.indexOf(mark) + mark.length - 1;
  const [before, after] = [sample.slice(0, at), sample.slice(at + 1)];
  // A uid is a plain integer; anything else (NaN is `null` in JSON) is serialized the slow way.
  return (n) => (Number.isSafeInteger(n) ? before + n + after : listItemText({ [key]: n, ...rest }, indent));
}
