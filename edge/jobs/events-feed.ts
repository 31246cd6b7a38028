import { mapLimit } from '../../shared/concurrency/map-limit.ts';
import { getJson, type ObjectStore } from '../../shared/ports/object-store.ts';
import { type JobEvent, JobEventSchema } from '../../shared/schemas/events.ts';
import { keys } from '../../shared/storage/keys.ts';

export const EVENT_ID = /^evt_[0-9a-z]{26}$/;
const EVENT_KEY = /\/(evt_[0-9a-z]{26})\.json$/;

export interface EventPage {
  events: JobEvent[];
  hasMore: boolean;
  /** Always present: the last event returned, or the cursor given, so a poller can keep passing it back. */
  nextCursor: string | null;
}

/** The tenant's job events in id (= time) order, strictly after `after`. */
export async function readEvents(
  store: ObjectStore,
  tenant: string,
  after: string | undefined,
  limit: number,
): Promise<EventPage> {
  const page = await store.list(keys.eventsPrefix(tenant), {
    maxKeys: limit,
    ...(after ? { startAfter: keys.event(tenant, after) } : {}),
  });
  const ids = page.items.map((i) => EVENT_KEY.exec(i.key)?.[1]).filter((id): id is string => Boolean(id));
  const events = await mapLimit(ids, 16, async (id) => {
    const res = await getJson(store, keys.event(tenant, id), (v) => JobEventSchema.parse(v));
    return res?.value ?? null;
  });
  const present = events.filter((e): e is JobEvent => e !== null);
  return {
    events: present,
    hasMore: page.continuationToken !== undefined,
    nextCursor: ids.at(-1) ?? after ?? null,
  };
}
