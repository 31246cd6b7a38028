// Worker-thread entry: owns the onnxruntime sessions, so that session.run() (which blocks its thread) never stalls
// the main event loop's heartbeats and health checks. Requests decode together (engine.analyzeBatch: batched
// vision and decode, each request with its own stop rules and cancel), up to `maxBatch` rows; a request that
// arrives while a batch runs joins it between decode steps, and each result is posted as soon as it is done.
// Cancellation messages are handled between decode steps (the engine yields to this thread's event loop).
import { parentPort, workerData } from 'node:worker_threads';
import type { BatchItem, EngineResult } from './engine.ts';
import { YiVlEngine } from './engine.ts';
import { type FromThread, serializeError, type ThreadInit, type ToThread } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('model-thread.ts must run in a worker thread');
const post = (msg: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const init = workerData as ThreadInit;
const maxBatch = Math.max(1, init.options.maxBatch ?? 4);

const controllers = new Map<number, AbortController>();
const waiting: { id: number; item: BatchItem }[] = [];
let running: Promise<void> | null = null;
let closing = false;

try {
  const engine = await YiVlEngine.load(init.modelDir, init.options);

  const runBatches = async () => {
    // let messages already on their way join this batch
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (waiting.length > 0 && !closing) {
      const batch = waiting.splice(0, maxBatch);
      const ids = batch.map((b) => b.id);
      const settled = new Set<number>();
      const onSettled = (index: number, r: PromiseSettledResult<EngineResult>) => {
        const id = ids[index]!;
        settled.add(id);
        if (r.status === 'fulfilled') {
          post(
            { type: 'result', id, result: r.value },
            r.value.prefill_logits ? [r.value.prefill_logits.buffer as ArrayBuffer] : [],
          );
        } else post({ type: 'error', id, error: serializeError(r.reason) });
        controllers.delete(id);
      };
      // requests that arrive while this batch decodes join it between steps
      const admit = (room: number): BatchItem[] => {
        if (closing) return [];
        const more = waiting.splice(0, room);
        ids.push(...more.map((m) => m.id));
        return more.map((m) => m.item);
      };
      try {
        await engine.analyzeBatch(
          batch.map((b) => b.item),
          { onSettled, admit, maxRows: maxBatch },
        );
      } catch (err) {
        ids.forEach((id, index) => {
          if (!settled.has(id)) onSettled(index, { status: 'rejected', reason: err });
        });
      }
    }
    for (const { id } of waiting.splice(0)) {
      post({ type: 'error', id, error: { name: 'Error', message: 'model thread is closing' } });
      controllers.delete(id);
    }
  };
  const kick = () => {
    running ??= runBatches().finally(() => {
      running = null;
      if (waiting.length > 0 && !closing) kick();
    });
  };

  port.on('message', (msg: ToThread) => {
    if (msg.type === 'cancel') {
      controllers.get(msg.id)?.abort();
    } else if (msg.type === 'close') {
      closing = true;
      for (const c of controllers.values()) c.abort();
      void (async () => {
        await running;
        await engine.close();
        post({ type: 'closed' });
        port.close();
      })();
    } else if (msg.type === 'analyze') {
      const ac = new AbortController();
      if (msg.aborted) ac.abort();
      controllers.set(msg.id, ac);
      const id = msg.id;
      waiting.push({
        id,
        item: {
          input: msg.input,
          run: {
            signal: ac.signal,
            ...(msg.stream ? { onText: (delta: string) => post({ type: 'text', id, delta }) } : {}),
          },
        },
      });
      if (!closing) kick();
      else void runBatches();
    }
  });
  post({ type: 'ready', startup: engine.startup });
} catch (err) {
  post({ type: 'fatal', error: serializeError(err) });
  port.close();
}
