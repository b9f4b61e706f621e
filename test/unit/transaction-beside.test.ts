// runTransaction's `beside` (apply/transaction.ts): work that spares later runs (the plan cache, the parses) runs
// once the last step has started staging, while the first step applies; it is finished before the transaction
// returns, and when a step fails, only after every step is rolled back.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { runTransaction } from '../../helper/src/apply/transaction.js';
import type { Step } from '../../helper/src/apply/step.js';

function steps(events: string[], failSecond: boolean, stageWait = 0): Step[] {
  const log = (e: string) => void events.push(e);
  return [
    { name: 'first', snapshot: async () => null, apply: async () => (log('apply first'), await sleep(30), log('applied first')), rollback: async () => log('rollback first') },
    {
      name: 'second',
      snapshot: async () => null,
      stage: async () => {
        log('stage second');
        if (stageWait > 0) await sleep(stageWait);
        if (stageWait > 0) log('staged second');
      },
      discard: async () => log('discard second'),
      apply: async () => {
        log('apply second');
        if (failSecond) throw new Error('refused');
      },
      rollback: async () => log('rollback second'),
    },
  ];
}

const beside = (events: string[]) => async () => {
  events.push('beside starts');
  await sleep(60);
  events.push('beside ends');
};
const quiet = { info: () => {}, warn: () => {} };

test('beside starts after the last step started staging, while the first applies, and ends before the transaction does', async () => {
  const events: string[] = [];
  await runTransaction(steps(events, false), quiet, beside(events));
  events.push('done');
  assert.deepEqual(events, ['apply first', 'stage second', 'beside starts', 'applied first', 'apply second', 'beside ends', 'done']);
});

test('when a step fails, everything is rolled back before what runs beside is waited for', async () => {
  const events: string[] = [];
  await assert.rejects(runTransaction(steps(events, true), quiet, beside(events)), /second: refused; previous state restored/);
  events.push('thrown');
  assert.deepEqual(events, ['apply first', 'stage second', 'beside starts', 'applied first', 'apply second', 'rollback second', 'rollback first', 'discard second', 'beside ends', 'thrown']);
});

test('beside fills a wait of the last step while it stages (a first apply waits there for the view writer thread)', async () => {
  const events: string[] = [];
  await runTransaction(steps(events, false, 40), quiet, beside(events));
  events.push('done');
  assert.deepEqual(events, ['apply first', 'stage second', 'beside starts', 'applied first', 'staged second', 'apply second', 'beside ends', 'done']);
});
