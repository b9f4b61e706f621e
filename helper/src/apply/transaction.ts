// Apply as one transaction: snapshot every system we own, apply in order, on failure roll back in reverse.
import { setImmediate as nextTick } from 'node:timers/promises';
import { ConsolegateError, messageOf } from '../errors.js';
import type { Step } from './step.js';

/** What the caller hears about progress; failures of rollback itself are reported, never swallowed. */
export interface TransactionLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * Starts the steps' staging one after another, from the next turn of the event loop on (so the step applying now
 * gets its commands started first). Each promise settles when that step is staged; failures surface in its apply.
 * `after`: started once the last step has started staging (the state step, which on a first apply waits there for
 * the view writer thread: the work beside fills that wait); its promise is returned with them.
 */
function startStaging(steps: Step[], after: () => Promise<void>): { staged: Map<Step, Promise<void>>; after: Promise<void> } {
  const staged = new Map<Step, Promise<void>>();
  const staging = steps.filter((s) => s.stage);
  let previous: Promise<unknown> = nextTick();
  let started: Promise<unknown> = previous;
  for (const s of staging) {
    const p = previous.then(() => s.stage!());
    p.catch(() => undefined); // awaited by the step's turn, or by the cleanup after a failure
    staged.set(s, p);
    // Its own first turn (up to its first wait) goes before the work beside.
    if (s === staging.at(-1)) started = previous.then(nextTick);
    previous = p.catch(() => undefined);
  }
  return { staged, after: started.then(after) };
}

/**
 * Runs the steps; throws APPLY_FAILED naming the failed step after rolling every touched step back. `beside`:
 * work that does not change the system (it must not throw), started once the first step is applying and the
 * later ones are staged, and finished before this returns or throws.
 */
export async function runTransaction(steps: Step[], log: TransactionLog, beside: () => Promise<void> = async () => {}): Promise<void> {
  const snapshots: unknown[] = [];
  for (const s of steps) {
    try {
      snapshots.push(await s.snapshot());
    } catch (err) {
      throw new ConsolegateError('APPLY_FAILED', `${s.name}: cannot read the current state: ${messageOf(err)}`, { cause: err });
    }
  }
  let done = 0;
  let staged = new Map<Step, Promise<void>>();
  let besides: Promise<void> | null = null;
  try {
    for (const s of steps) {
      await (staged.get(s) ?? s.stage?.());
      const applying = s.apply();
      // The first step loads the firewall, which is nft's or iptables' work on the other core: the later steps
      // write their files meanwhile, invisibly, so that each of them then only has to rename.
      if (done === 0) ({ staged, after: besides } = startStaging(steps.slice(1), beside));
      await applying;
      done++;
    }
    await besides;
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
    for (const [s, staging] of staged) {
      await staging.catch(() => undefined);
      await s.discard?.().catch((dErr: unknown) => log.warn(`${s.name}: could not remove staged files: ${messageOf(dErr)}`));
    }
    // Rolled back first: what runs beside never delays restoring the system.
    await besides?.catch(() => undefined);
    const suffix = rollbackErrors.length ? `; rollback incomplete (${rollbackErrors.join('; ')})` : '; previous state restored';
    throw new ConsolegateError('APPLY_FAILED', `${failed?.name ?? 'apply'}: ${messageOf(err)}${suffix}`, { cause: err });
  }
}
