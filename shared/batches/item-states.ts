import { type BatchRecord, type ItemState, isItemEnded } from '../schemas/batch.ts';

/**
 * The batch record's state machine, as pure functions over a record copy: the repository's CAS loop re-applies them
 * to the freshest record, so concurrent workers and the edge's cancel compose without lost updates.
 */

export type ItemChange =
  | { kind: 'start'; index: number }
  | { kind: 'end'; index: number; state: 'succeeded' | 'failed' | 'canceled' }
  | { kind: 'requeue'; index: number };

/** What a `start` found: run the item, or do not (the batch canceled it, or it already ended). */
export type StartVerdict = 'run' | 'canceled' | 'ended';

function setAt(states: string, index: number, state: ItemState): string {
  return states.slice(0, index) + state + states.slice(index + 1);
}

/** Applies item changes in order; returns the verdict of each `start` (by index) and whether anything changed. */
export function applyItemChanges(
  batch: BatchRecord,
  changes: readonly ItemChange[],
  nowIso: string,
): { changed: boolean; verdicts: Map<number, StartVerdict> } {
  const verdicts = new Map<number, StartVerdict>();
  const startedBefore = batch.started_at;
  let states = batch.item_states;
  let startedOne = false;
  for (const change of changes) {
    const current = states[change.index];
    if (current === undefined) continue;
    if (change.kind === 'start') {
      if (current === 'c') verdicts.set(change.index, 'canceled');
      else if (isItemEnded(current)) verdicts.set(change.index, 'ended');
      else if (current === 'q' && batch.cancel_requested_at) {
        states = setAt(states, change.index, 'c');
        verdicts.set(change.index, 'canceled');
      } else {
        if (current !== 'r') states = setAt(states, change.index, 'r');
        startedOne = true;
        verdicts.set(change.index, 'run');
      }
    } else if (change.kind === 'end') {
      const next = ({ succeeded: 's', failed: 'f', canceled: 'c' } as const)[change.state];
      if (!isItemEnded(current)) states = setAt(states, change.index, next);
    } else if (current === 'r') states = setAt(states, change.index, 'q');
  }
  const statesChanged = states !== batch.item_states;
  batch.item_states = states;
  if (startedOne && !batch.started_at) batch.started_at = nowIso;
  const statusChanged = settleStatus(batch, nowIso);
  return { changed: statesChanged || statusChanged || batch.started_at !== startedBefore, verdicts };
}

/** Cancels the batch: items not started are canceled now; running ones finish. */
export function requestCancel(batch: BatchRecord, nowIso: string): boolean {
  if (batch.status === 'completed' || batch.status === 'canceled' || batch.cancel_requested_at) return false;
  batch.cancel_requested_at = nowIso;
  batch.item_states = batch.item_states.replaceAll('q', 'c');
  settleStatus(batch, nowIso);
  return true;
}

/**
 * Derives the batch status from its items: ended when every item ended (exactly one CAS makes that transition, so
 * a batch ends once however many workers finish its last items together), else canceling, running or queued.
 */
export function settleStatus(batch: BatchRecord, nowIso: string): boolean {
  const before = batch.status;
  if (before === 'completed' || before === 'canceled') return false;
  const open = batch.item_states.includes('q') || batch.item_states.includes('r');
  if (!open) {
    batch.status = batch.cancel_requested_at ? 'canceled' : 'completed';
    batch.completed_at = nowIso;
  } else if (batch.cancel_requested_at) batch.status = 'canceling';
  else if (batch.item_states.length > 0 && /[rsfc]/.test(batch.item_states)) batch.status = 'running';
  else batch.status = 'queued';
  return batch.status !== before;
}
