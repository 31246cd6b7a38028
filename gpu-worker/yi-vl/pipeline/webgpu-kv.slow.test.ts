// The decoder on the WebGPU EP with the KV cache kept in device buffers between steps. On machines
// without a GPU this runs on SwiftShader (the CPU Vulkan driver Debian's chromium ships, installed by
// scripts/install-chromium.sh); where no Vulkan adapter exists at all the suite is skipped and says why.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { YiVlEngine } from './engine.ts';
import { testImageRgb, tinyModel } from './testing/tiny-model.ts';
import { useSoftwareVulkanIfNoDriver } from './testing/webgpu.ts';

const question = 'What is in the image?';
const greedy = { temperature: 0, maxNewTokens: 4 };
let cpu: YiVlEngine;
let gpu: YiVlEngine | null = null;
let unavailable = '';

before(async () => {
  useSoftwareVulkanIfNoDriver();
  const m = await tinyModel();
  cpu = await YiVlEngine.load(m.modelDir, { device: 'cpu', intraOpNumThreads: 1 });
  try {
    gpu = await YiVlEngine.load(m.modelDir, { device: 'webgpu' });
  } catch (err) {
    unavailable = (err as Error).message.split('\n')[0]!;
  }
});
after(async () => {
  await cpu?.close();
  await gpu?.close();
});

describe('WebGPU EP with device-resident KV', () => {
  test('one answer: the same greedy tokens as the CPU EP, KV never copied to the host', async (t) => {
    if (!gpu) return t.skip(`no WebGPU adapter: ${unavailable}`);
    assert.equal(gpu.startup.provider, 'webgpu');
    const input = { rgb: testImageRgb(1), question, params: greedy };
    const [a, b] = [await cpu.analyze(input), await gpu.analyze(input)];
    assert.equal(b.prefix_cache_hit, true);
    assert.deepEqual(b.output_token_ids, a.output_token_ids);
    assert.equal(b.completion_tokens, 4);
  });

  test('a batch of two rows of different lengths, one leaving early: the tokens each row makes alone', async (t) => {
    if (!gpu) return t.skip(`no WebGPU adapter: ${unavailable}`);
    const items = [
      { input: { rgb: testImageRgb(2), question, params: { ...greedy, maxNewTokens: 2 } } },
      { input: { rgb: testImageRgb(3), question: '这是什么？请详细描述。', params: greedy } },
    ];
    const want = await cpu.analyzeBatch(items);
    const got = await gpu.analyzeBatch(items);
    for (let i = 0; i < items.length; i++) {
      const [g, w] = [got[i]!, want[i]!];
      assert.equal(g.status, 'fulfilled');
      assert.equal(w.status, 'fulfilled');
      if (g.status !== 'fulfilled' || w.status !== 'fulfilled') continue;
      assert.deepEqual(g.value.output_token_ids, w.value.output_token_ids);
      assert.equal(g.value.batch_size, 2);
    }
  });
});
