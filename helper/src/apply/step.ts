// The unit of a transaction: capture what we own, change it, put it back.

/** One system's part of apply. `snapshot` runs before any step applies; `rollback` gets its result back. */
export interface Step<S = unknown> {
  name: string;
  snapshot(): Promise<S>;
  /**
   * Optional: prepares everything `apply` puts in place without changing anything anyone reads (temp files), while
   * the steps before it apply; `apply` then only makes it visible, and stages first itself if this never ran.
   */
  stage?(): Promise<void>;
  /** Removes what `stage` left and `apply` did not make visible; safe after a partial or complete apply. */
  discard?(): Promise<void>;
  apply(): Promise<void>;
  rollback(snapshot: S): Promise<void>;
}

/** Erases the snapshot type so steps of different systems can sit in one list. */
export function step<S>(s: Step<S>): Step<unknown> {
  return s as Step<unknown>;
}
