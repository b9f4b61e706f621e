// Apply as one transaction: snapshot every system we own, apply in order, on failure roll back in reverse.
import { ConsolegateError, messageOf } from '../errors.js';
import type { Step } from './step.js';

/** What the caller hears about progress; failures of rollback itself are reported, never swallowed. */
export interface TransactionLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Runs the steps; throws APPLY_FAILED naming the failed step after rolling every touched step back. */
export async function runTransaction(steps: Step[], log: TransactionLog): Promise<void> {
  const snapshots: unknown[] = [];
  for (const s of steps) {
    try {
      snapshots.push(await s.snapshot());
    } catch (err) {
      throw new ConsolegateError('APPLY_FAILED', `${s.name}: cannot read the current state: ${messageOf(err)}`, { cause: err });
    }
  }
  let done = 0;
  try {
    for (const s of steps) {
      await s.apply();
      done++;
    }
  } catch (err) {
    const failed = steps[done];
    const rollbackErrors: string[] = [];
    // The failed step may have half-applied: roll it back too, then the finished ones, newest first.
    for (let i = done; i >= 0; i--) {
      const s = steps[i]!;
      try {
        await s.rollback(snapshots[i]);
      } catch (rbErr) {
        rollbackErrors.push(`${s.name}: ${messageOf(rbErr)}`);
        log.warn(`rollback of ${s.name} failed: ${messageOf(rbErr)}`);
      }
    }
    const suffix = rollbackErrors.length ? `; rollback incomplete (${rollbackErrors.join('; ')})` : '; previous state restored';
    throw new ConsolegateError('APPLY_FAILED', `${failed?.name ?? 'apply'}: ${messageOf(err)}${suffix}`, { cause: err });
  }
}
