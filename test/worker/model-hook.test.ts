import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createAnalyzerFromEnv } from '../../gpu-worker/main.ts';
import { testImageRgb, tinyModel } from '../../gpu-worker/yi-vl/pipeline/testing/tiny-model.ts';
import { GenerationParamsSchema } from '../../shared/index.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { seedJob, startTestWorker, waitForStatus } from './support/harness.ts';

/** The real Yi-VL pipeline (a tiny random-weight model on the CPU provider) behind the worker's Analyzer hook. */
describe('createAnalyzerFromEnv with a tiny Yi-VL model', () => {
  let aws: LocalAws;
  let png: Uint8Array;
  before(async () => {
    aws = await startLocalAws();
    png = new Uint8Array(
      await sharp(Buffer.from(testImageRgb()), { raw: { width: 448, height: 448, channels: 3 } })
        .png()
        .toBuffer(),
    );
  });
  after(async () => aws.close());

  test('refuses to start without MODEL_DIR, naming the variable', async () => {
    await assert.rejects(createAnalyzerFromEnv({}), /MODEL_DIR is required/);
  });

  test('adapts the pipeline to the Analyzer interface and runs a queued job end to end', async () => {
    const analyzer = await createAnalyzerFromEnv({ MODEL_DIR: (await tinyModel()).modelDir });
    const direct = await analyzer.analyze(
      {
        jobId: 'job_direct',
        image: png,
        prompt: 'What is in the image?',
        history: [],
        params: GenerationParamsSchema.parse({ max_new_tokens: 3, temperature: 0 }),
      },
      new AbortController().signal,
    );
    assert.ok(['stop', 'length'].includes(direct.finish_reason));
    assert.ok(direct.completion_tokens >= 1 && direct.completion_tokens <= 3);
    assert.ok(direct.image_tokens > 0 && direct.prompt_tokens > 0);
    assert.ok(direct.gpu_ms > 0);
    // Where the CUDA provider cannot load (CI), device auto falls back, and that must be surfaced, not silent.
    if (!/"provider":"cuda"/.test(analyzer.describe()))
      assert.ok(
        analyzer.startupWarnings?.().some((w) => /runs on the CPU/.test(w)),
        `startup warnings: ${analyzer.startupWarnings?.()}`,
      );

    const worker = await startTestWorker(aws, analyzer);
    try {
      const seeded = await seedJob(aws, { image: png, params: { max_new_tokens: 3, temperature: 0 } });
      const job = await waitForStatus(aws, seeded.id, ['succeeded', 'failed'], 15_000);
      assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
      assert.equal(job.output?.text, direct.text, 'greedy decoding gives the same answer through the queue');
      assert.equal(job.usage?.image_tokens, direct.image_tokens);

      // Inputs the pipeline refuses fail on their first attempt with their code, instead of being retried as model
      // crashes until they dead-letter: a stored image that is not 448×448 (refused on the worker's main thread), a
      // question holding the image placeholder and a history over the context (refused inside the model thread).
      const small = new Uint8Array(
        await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080' } })
          .png()
          .toBuffer(),
      );
      const bad = [
        { seed: await seedJob(aws, { image: small }), code: 'input_invalid' },
        { seed: await seedJob(aws, { image: png, prompt: 'What is <image_placeholder>?' }), code: 'input_invalid' },
        {
          seed: await seedJob(aws, { image: png, history: [{ question: 'q', answer: 'word '.repeat(1200) }] }),
          code: 'context_too_long',
        },
      ];
      for (const { seed, code } of bad) {
        const failed = await waitForStatus(aws, seed.id, ['succeeded', 'failed'], 30_000);
        assert.equal(failed.error?.code, code, JSON.stringify(failed.error));
        assert.equal(failed.attempts, 1);
      }
    } finally {
      await worker.stop(); // closes the analyzer
    }
  });
});
