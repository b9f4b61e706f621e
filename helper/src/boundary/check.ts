// Small readers for untrusted JSON: each returns the typed value or throws BoundaryError naming the bad field.

/** A file that breaks its contract (a view or the console table); the message names the bad value. */
export class BoundaryError extends Error {
  override name = 'BoundaryError';
}

const shown = (v: unknown): string => (JSON.stringify(v) ?? String(v)).slice(0, 80);

/** A JSON object (not null, not an array). */
export function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BoundaryError(`Expected ${what} to be an object`);
  return v as Record<string, unknown>;
}

/** A string; non-empty unless `empty` is allowed. */
export function string(v: unknown, what: string, opts: { empty?: boolean } = {}): string {
  if (typeof v !== 'string' || (v === '' && !opts.empty)) throw new BoundaryError(`Expected \`${what}\` to be a ${opts.empty ? '' : 'non-empty '}string, got \`${shown(v)}\``);
  return v;
}

/** An integer within [min, max]. */
export function integer(v: unknown, what: string, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new BoundaryError(`Expected \`${what}\` to be an integer ${min}-${max}, got \`${shown(v)}\``);
  return v as number;
}

/** A string matching `test`, which is described as `like` in the message. */
export function matching(v: unknown, what: string, test: (s: string) => boolean, like: string): string {
  if (typeof v !== 'string' || !test(v)) throw new BoundaryError(`Expected \`${what}\` to be ${like}, got \`${shown(v)}\``);
  return v;
}

/** An array. */
export function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new BoundaryError(`Expected \`${what}\` to be an array`);
  return v;
}
