import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { keys } from '../../shared/storage/keys.ts';
import type { Logger } from '../ops/logger.ts';

/** Whether the edge has asked to cancel this job (a marker object, cheap to HEAD). */
export async function cancelRequested(store: ObjectStore, tenant: string, jobId: string): Promise<boolean> {
  return (await store.head(keys.cancel(tenant, jobId))) !== null;
}

/** Polls the cancel marker while a job runs and calls `onCancel` once when it appears. */
export function watchCancel(
  store: ObjectStore,
  tenant: string,
  jobId: string,
  intervalMs: number,
  onCancel: () => void,
  logger: Logger,
): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      if (await cancelRequested(store, tenant, jobId)) {
        stopped = true;
        onCancel();
        return;
      }
    } catch (err) {
      logger.debug({ err }, 'cancel check failed');
    }
    if (!stopped) timer = setTimeout(tick, intervalMs).unref();
  };
  timer = setTimeout(tick, intervalMs).unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
