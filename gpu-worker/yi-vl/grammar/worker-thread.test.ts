import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

test('XGrammar loads and constrains decoding inside a worker_thread (where the model runs)', async () => {
  const probe = new URL('./testing/thread-probe.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(probe)}); });`,
    { eval: true },
  );
  try {
    const [message] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'error').then(([e]) => Promise.reject(e)),
    ])) as [{ text: string; terminated: boolean }];
    assert.equal(message.terminated, true);
    assert.equal(typeof JSON.parse(message.text).ok, 'boolean');
  } finally {
    await worker.terminate();
  }
});
