// The unit of a transaction: capture what we own, change it, put it back.

/** One system's part of apply. `snapshot` runs before any step applies; `rollback` gets its result back. */
export interface Step<S = unknown> {
  name: string;
  snapshot(): Promise<S>;
  apply(): Promise<void>;
  rollback(snapshot: S): Promise<void>;
}

/** Erases the snapshot type so steps of different systems can sit in one list. */
export function step<S>(s: Step<S>): Step<unknown> {
  return s as Step<unknown>;
}
