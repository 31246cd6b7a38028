/**
 * The playground in a real browser: the local stack (embedded S3/SQS, the edge, one CPU worker with the tiny
 * random-weight Yi-VL) and Debian's headless Chromium driven by playwright-core. Upload → status → answer → the model
 * input beside the original → follow-up → copy curl → an invalid file's problem → a batch file followed to its end and
 * its results downloaded → a batch file with a bad line. Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { PROBLEM_CODES } from '../../shared/errors/problem.ts';
import {
  type Browser,
  type LocalStack,
  launchChromium,
  root,
  scenePng,
  skipReason,
  startLocalStack,
} from './playground-support.ts';

const apiKey = 'yvl_e2e_playground_key_0123456789ab';
const artifacts = join(root, 'test-artifacts');
const skip = skipReason();

describe('playground in headless Chromium on the local stack', { skip: skip ?? false, timeout: 120_000 }, () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  let firstJobId = '';

  before(async () => {
    await mkdir(artifacts, { recursive: true });
    [stack, browser] = await Promise.all([startLocalStack(apiKey), launchChromium()]);
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      // The 415 of the invalid-file step and the 422 of the bad batch file are expected; anything else (CSP
      // violations included) is not.
      if (m.type() === 'error' && !/status of (?:415|422)/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const api = (path: string) =>
    fetch(`${stack.base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } }).then(
      (r) => r.json() as Promise<Record<string, unknown>>,
    );
  const shot = (name: string) => page.screenshot({ path: join(artifacts, `playground-${name}.png`), fullPage: true });

  test('the page loads under its CSP and links to the docs; the docs link back', async () => {
    const res = await page.goto(`${stack.base}/`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    assert.equal(await page.title(), 'Playground · yi-vl-pipeline');
    assert.equal(await page.getByRole('link', { name: 'API docs' }).getAttribute('href'), '/docs');
    const docs = await (await fetch(`${stack.base}/docs`)).text();
    assert.match(docs, /href="\/playground"/);
  });

  test('upload an image, watch the status, read the answer, see what the model saw', async (t) => {
    await page.getByLabel('API key', { exact: true }).fill(apiKey);
    await page
      .getByLabel('Image', { exact: true })
      .setInputFiles({ name: 'house.png', mimeType: 'image/png', buffer: await scenePng() });
    await page.getByLabel('Question', { exact: true }).fill('What is in this picture? 图片里有什么？');
    await page.getByLabel('Max new tokens', { exact: true }).fill('256');
    await page.getByLabel('Temperature', { exact: true }).fill('0');
    await page.evaluate(() => {
      const status = document.getElementById('status')!;
      const seen: string[] = [];
      (window as unknown as { statusSeen: string[] }).statusSeen = seen;
      new MutationObserver(() => seen.push(status.textContent ?? '')).observe(status, { childList: true });
    });
    await page.getByRole('button', { name: 'Analyze image' }).click();

    const answer = page.locator('#thread .a.answer').first();
    await answer.waitFor({ timeout: 45_000 });
    assert.equal(await page.locator('#status').textContent(), 'Status: succeeded');
    // The live region moved forward through the lifecycle (running shows when a poll lands inside it).
    const seen = await page.evaluate(() => (window as unknown as { statusSeen: string[] }).statusSeen);
    const order = ['Submitting…', 'Status: queued', 'Status: running', 'Status: succeeded'];
    assert.deepEqual(
      seen,
      order.filter((s) => seen.includes(s)),
      `status sequence ${seen}`,
    );
    assert.ok(seen.includes('Status: queued') && seen.at(-1) === 'Status: succeeded', `status sequence ${seen}`);
    t.diagnostic(`status sequence: ${seen.join(' → ')}; ${await page.locator('#elapsed').textContent()}`);
    assert.match(
      (await page.locator('#elapsed').textContent()) ?? '',
      /^\d+\.\d s \(queued \d+\.\d s, ran \d+\.\d s\)$/,
    );
    assert.deepEqual(await page.locator('#steps li.done').allTextContents(), ['queued', 'running', 'succeeded']);

    // The answer on screen is the job's own output, not something the page made up.
    firstJobId = (await answer.getAttribute('data-job-id')) ?? '';
    const job = (await api(`/v1/jobs/${firstJobId}`)) as {
      status: string;
      output: { text: string };
      started_at: string;
      completed_at: string;
    };
    assert.equal(job.status, 'succeeded');
    // The page polls with Prefer: wait=1, so a job that ran well past a second must have been shown running.
    if (Date.parse(job.completed_at) - Date.parse(job.started_at) > 1500)
      assert.ok(seen.includes('Status: running'), `status sequence ${seen}`);
    assert.equal(await answer.textContent(), `A: ${job.output.text}`);
    assert.match((await page.locator('#thread .q').first().textContent()) ?? '', /图片里有什么/);

    // Both images are displayed: the original as chosen, the model input as the stored 448×448 PNG.
    await page.waitForFunction(() => {
      const img = document.getElementById('model-input') as HTMLImageElement;
      return img.complete && img.naturalWidth > 0;
    });
    const sizes = await page.evaluate(() =>
      ['original', 'model-input'].map((id) => {
        const img = document.getElementById(id) as HTMLImageElement;
        return { src: img.src.slice(0, 5), w: img.naturalWidth, h: img.naturalHeight, shown: img.clientWidth > 0 };
      }),
    );
    assert.deepEqual(sizes, [
      { src: 'blob:', w: 480, h: 270, shown: true },
      { src: 'blob:', w: 448, h: 448, shown: true },
    ]);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('yi-vl-playground.api-key')), apiKey);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await shot('answer');
  });

  test('the curl command matches the request and copies to the clipboard', async () => {
    const curl = (await page.locator('#curl').textContent()) ?? '';
    assert.match(curl, new RegExp(`curl -sS -X POST '${stack.base}/v1/jobs'`));
    assert.match(curl, /-F 'image=@house\.png'/);
    assert.match(curl, /--form-string 'prompt=What is in this picture\? 图片里有什么？'/);
    assert.match(curl, /--form-string 'max_new_tokens=256'/);
    assert.match(curl, new RegExp(`/v1/jobs/${firstJobId}' .*Prefer: wait=30`));
    assert.equal(curl.includes(apiKey), false, 'the key itself never goes into the command');
    await page.getByRole('button', { name: 'Copy curl command' }).click();
    await page.locator('#copy-status', { hasText: 'Copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
  });

  test('a follow-up question on the same image shows its answer', async () => {
    await page
      .getByLabel('Follow-up question about the same image', { exact: true })
      .fill('And what colour is the sun?');
    await page.getByRole('button', { name: 'Ask follow-up' }).click();
    const second = page.locator('#thread .a.answer').nth(1);
    await second.waitFor({ timeout: 45_000 });
    const id = (await second.getAttribute('data-job-id')) ?? '';
    const job = (await api(`/v1/jobs/${id}`)) as {
      output: { text: string };
      conversation: { parent_id: string; history: unknown[] };
    };
    assert.equal(job.conversation.parent_id, firstJobId);
    assert.equal(job.conversation.history.length, 1);
    assert.equal(await second.textContent(), `A: ${job.output.text}`);
    assert.match((await page.locator('#curl').textContent()) ?? '', /"parent":"job_/);
    await shot('follow-up');
  });

  test('an invalid file shows the problem title and detail', async () => {
    await page.getByLabel('Image', { exact: true }).setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('this is not an image'),
    });
    await page.getByRole('button', { name: 'Analyze image' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(await page.locator('#error-title').textContent(), PROBLEM_CODES.unsupported_media_type.title);
    assert.match(
      (await page.locator('#error-detail').textContent()) ?? '',
      /image\/jpeg.*\(unsupported_media_type, HTTP 415\)$/,
    );
    assert.equal(await page.locator('#status').textContent(), 'Not submitted');
    assert.equal(await page.locator('#steps [aria-current], #steps .done').count(), 0);
    assert.equal(await page.locator('#model-input').isVisible(), false, 'no model input for a refused upload');
    await shot('invalid-file');
  });

  test('a batch file: progress to the end, then its results as a download', async () => {
    const image = `data:image/png;base64,${(await scenePng()).toString('base64')}`;
    const lines = ['house-1', 'house-2'].map((custom_id) =>
      JSON.stringify({ custom_id, image_url: image, prompt: 'What is in this picture?', max_new_tokens: 8 }),
    );
    await page.getByLabel('Requests file (JSON Lines)', { exact: true }).setInputFiles({
      name: 'requests.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(`${lines.join('\n')}\n`),
    });
    await page.getByRole('button', { name: 'Submit batch' }).click();
    const download = page.locator('#batch-download');
    await download.waitFor({ state: 'visible', timeout: 90_000 });
    const status = (await page.locator('#batch-status').textContent()) ?? '';
    const id = /^Batch (batch_\S+): completed$/.exec(status)?.[1];
    assert.ok(id, status);
    assert.equal(
      await page.locator('#batch-counts').textContent(),
      '2 of 2 ended · 2 succeeded · 0 failed · 0 running · 0 queued',
    );
    assert.equal(await page.locator('#batch-progress').evaluate((p: HTMLProgressElement) => p.value / p.max), 1);
    assert.equal(await page.locator('#batch-cancel').isDisabled(), true);

    // The download is the API's results file, byte for byte, one line per item in input order.
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    assert.equal(file.suggestedFilename(), `${id}.results.jsonl`);
    const downloaded = await readFile((await file.path())!, 'utf8');
    const res = await fetch(`${stack.base}/v1/batches/${id}/results`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    assert.equal(res.headers.get('batch-results'), 'complete');
    assert.equal(downloaded, await res.text());
    const results = downloaded
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; job_id: string; status: string; output: { text: string } });
    assert.deepEqual(
      results.map((r) => [r.custom_id, r.status]),
      [
        ['house-1', 'succeeded'],
        ['house-2', 'succeeded'],
      ],
    );
    const job = (await api(`/v1/jobs/${results[0]!.job_id}`)) as { batch_id: string; custom_id: string };
    assert.deepEqual([job.batch_id, job.custom_id], [id, 'house-1']);
    assert.equal(await download.textContent(), 'Download results (2 lines)');
    await shot('batch');
  });

  test('a batch file with a bad line is refused with the line and field named', async () => {
    await page.getByLabel('Requests file (JSON Lines)', { exact: true }).setInputFiles({
      name: 'bad.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(
        '{"custom_id":"a","image_url":"https://example.com/a.png","prompt":"hi"}\n{"prompt":"no id"}\n',
      ),
    });
    await page.getByRole('button', { name: 'Submit batch' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(await page.locator('#batch-status').textContent(), 'Not submitted');
    assert.equal(await page.locator('#batch-download').isVisible(), false);
    const errors = await page.locator('#error-list li').allTextContents();
    assert.ok(
      errors.some((e) => e.startsWith('requests[2].custom_id: ')),
      errors.join(' | '),
    );
    assert.match((await page.locator('#error-detail').textContent()) ?? '', /\(validation_failed, HTTP 422\)$/);
  });

  test('fits a phone-sized screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await shot('phone');
    assert.deepEqual(consoleErrors, [], 'no script errors, failed loads or CSP violations');
  });
});
