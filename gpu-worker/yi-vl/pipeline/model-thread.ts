// Worker-thread entry: owns the onnxruntime sessions and runs one request at a time, so that session.run() (which
// blocks its thread) never stalls the main event loop's heartbeats and health checks. Cancellation messages are
// handled between decode steps (the engine yields to this thread's event loop after every token).
import { parentPort, workerData } from 'node:worker_threads';
import { YiVlEngine } from './engine.ts';
import { type FromThread, serializeError, type ThreadInit, type ToThread } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('model-thread.ts must run in a worker thread');
const post = (msg: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const init = workerData as ThreadInit;

const controllers = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

try {
  const engine = await YiVlEngine.load(init.modelDir, init.options);
  port.on('message', (msg: ToThread) => {
    if (msg.type === 'cancel') {
      controllers.get(msg.id)?.abort();
    } else if (msg.type === 'close') {
      for (const c of controllers.values()) c.abort();
      queue = queue.then(async () => {
        await engine.close();
        post({ type: 'closed' });
        port.close();
      });
    } else if (msg.type === 'analyze') {
      const ac = new AbortController();
      if (msg.aborted) ac.abort();
      controllers.set(msg.id, ac);
      queue = queue.then(async () => {
        try {
          const result = await engine.analyze(msg.input, {
            signal: ac.signal,
            ...(msg.stream ? { onText: (delta: string) => post({ type: 'text', id: msg.id, delta }) } : {}),
          });
          post(
            { type: 'result', id: msg.id, result },
            result.prefill_logits ? [result.prefill_logits.buffer as ArrayBuffer] : [],
          );
        } catch (err) {
          post({ type: 'error', id: msg.id, error: serializeError(err) });
        } finally {
          controllers.delete(msg.id);
        }
      });
    }
  });
  post({ type: 'ready', startup: engine.startup });
} catch (err) {
  post({ type: 'fatal', error: serializeError(err) });
  port.close();
}
