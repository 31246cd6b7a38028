// Pulling a Yi-VL repository through @huggingface/hub from a loopback server that answers the Hub's routes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type LocalHub, startLocalHub } from '../../test/support/local-hub.ts';
import { makeTinyHubRepo, officialTowerDir, UNUSED_FILES } from '../../test/support/tiny-hub-repo.ts';
import { NoSpaceError } from './disk-space.ts';
import { ChecksumError } from './download-file.ts';
import { HubAccessError, type PullEvent, type PullOptions, pullRepo, readSourceStamp, SOURCE_STAMP } from './pull.ts';

const REPO = '01-ai/Yi-VL-6B';
const SHARD1 = 'pytorch_model-00001-of-00002.bin';
const SHARD2 = 'pytorch_model-00002-of-00002.bin';
const TOKEN = 'hf_loopbackTestToken0123456789';

let root: string;
let repoDir: string;
let hub: LocalHub;
let n = 0;
const freshDir = () => join(root, `out-${++n}`);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** Content requests (not the API): resolve and the CDN it redirects to. */
const contentRequests = (from = 0) =>
  hub.requests.slice(from).filter((r) => r.path.includes('/resolve/') || r.path.includes('/cdn-lfs/'));

const pull = (out: string, extra: Partial<PullOptions> = {}) =>
  pullRepo({ repo: REPO, out, hubUrl: hub.url, retryDelayMs: 10, ...extra });

before(() => {
  root = mkdtempSync(join(tmpdir(), 'yi-vl-pull-'));
  repoDir = makeTinyHubRepo(join(root, 'repo-6b'), '6B');
  const big = makeTinyHubRepo(join(root, 'repo-34b'), '34B', 3);
  return startLocalHub({
    repos: [
      { id: REPO, dir: repoDir },
      { id: 'acme/Yi-VL-gated', dir: repoDir, gated: true },
      { id: '01-ai/Yi-VL-34B', dir: big },
    ],
    tokens: [TOKEN],
    pageSize: 4,
  }).then((h) => {
    hub = h;
  });
});
after(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('pull from the Hub (loopback server answering the Hub routes)', () => {
  test('a full pull fetches only what the converter needs, each file checked, and a second pull fetches nothing', async () => {
    const out = freshDir();
    const events: PullEvent[] = [];
    const r = await pull(out, { onEvent: (e) => events.push(e) });
    const tower = officialTowerDir('6B');
    assert.deepEqual(r.downloaded.sort(), [
      'added_tokens.json',
      'config.json',
      'generation_config.json',
      SHARD1,
      SHARD2,
      'pytorch_model.bin.index.json',
      'special_tokens_map.json',
      'tokenizer.model',
      'tokenizer_config.json',
      `${tower}/config.json`,
      `${tower}/pytorch_model.bin`,
    ]);
    for (const f of UNUSED_FILES('6B')) assert.ok(!existsSync(join(out, f)), `${f} must stay on the Hub`);
    for (const f of r.downloaded) assert.equal(sha256(join(out, f)), sha256(join(repoDir, f)), f);
    assert.equal(r.commit, hub.commitOf(REPO));
    const stamp = readSourceStamp(out)!;
    assert.equal(stamp.complete, true);
    assert.equal(Object.keys(stamp.files).length, 11);
    assert.match(stamp.files[SHARD1]!.checksum, /^sha256:[0-9a-f]{64}$/);
    assert.match(stamp.files['config.json']!.checksum, /^git-blob:[0-9a-f]{40}$/);
    // The listing came in pages (Link: rel="next"), every file from the pinned commit.
    assert.ok(hub.requests.filter((q) => q.path.includes('/tree/')).length > 3);
    for (const q of hub.requests.filter((x) => x.path.includes('/resolve/'))) assert.ok(q.path.includes(r.commit));
    const plan = events.find((e) => e.type === 'plan');
    assert.ok(plan?.type === 'plan' && plan.presentBytes === 0 && plan.totalBytes === r.fetchedBytes);
    const counted = events.reduce((a, e) => a + (e.type === 'bytes' ? e.delta : 0), 0);
    assert.equal(counted, r.fetchedBytes);

    const mark = hub.requests.length;
    const again = await pull(out);
    assert.deepEqual(again.downloaded, []);
    assert.equal(again.present.length, 11);
    assert.equal(contentRequests(mark).length, 0);
  });

  test('an interrupted pull resumes with a Range request where the .part file ends', async () => {
    const out = freshDir();
    const size = statSync(join(repoDir, SHARD1)).size;
    hub.fault(REPO, SHARD1, { kind: 'stall', afterBytes: 4_000_000 });
    const ac = new AbortController();
    let got = 0;
    await assert.rejects(
      pull(out, {
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type !== 'bytes' || e.path !== SHARD1) return;
          got += e.delta;
          if (got >= 4_000_000) ac.abort(new Error('interrupted'));
        },
      }),
      /interrupted/,
    );
    const partial = statSync(join(out, `${SHARD1}.part`)).size;
    assert.ok(partial > 0 && partial <= 4_000_000, `partial ${partial}`);
    assert.ok(!existsSync(join(out, SHARD1)));

    const mark = hub.requests.length;
    const events: PullEvent[] = [];
    const r = await pull(out, { onEvent: (e) => events.push(e) });
    const resumed = contentRequests(mark).find((q) => q.range === `bytes=${partial}-${size - 1}`);
    assert.ok(resumed, `no Range request from ${partial}: ${JSON.stringify(contentRequests(mark))}`);
    const file = events.find((e) => e.type === 'file' && e.path === SHARD1);
    assert.ok(file?.type === 'file' && file.resumedFrom === partial && file.fetched === size - partial);
    assert.equal(sha256(join(out, SHARD1)), sha256(join(repoDir, SHARD1)));
    assert.ok(!existsSync(join(out, `${SHARD1}.part`)));
    assert.ok(r.downloaded.includes(SHARD1));
  });

  test('a dropped connection is resumed within the same pull', async () => {
    const out = freshDir();
    hub.fault(REPO, SHARD1, { kind: 'cut', afterBytes: 3_000_000 });
    const mark = hub.requests.length;
    await pull(out);
    assert.equal(sha256(join(out, SHARD1)), sha256(join(repoDir, SHARD1)));
    const ranged = contentRequests(mark).filter((q) => q.range && q.range !== 'bytes=0-0');
    assert.ok(
      ranged.some((q) => /^bytes=[1-9]\d*-/.test(q.range!)),
      JSON.stringify(ranged),
    );
  });

  test('a connection that stalls is dropped after the stall timeout and resumed', { timeout: 60_000 }, async () => {
    const out = freshDir();
    hub.fault(REPO, SHARD1, { kind: 'stall', afterBytes: 2_000_000 });
    const mark = hub.requests.length;
    await pull(out, { stallTimeoutMs: 2000 });
    assert.equal(sha256(join(out, SHARD1)), sha256(join(repoDir, SHARD1)));
    assert.ok(contentRequests(mark).some((q) => /^bytes=[1-9]\d*-/.test(q.range ?? '')));
  });

  test('a corrupted download is caught by its sha256, discarded, and fetched again by the next pull', async () => {
    const out = freshDir();
    hub.fault(REPO, SHARD2, { kind: 'corrupt' });
    await assert.rejects(pull(out, { concurrency: 1 }), (err: unknown) => {
      assert.ok(err instanceof ChecksumError, String(err));
      assert.equal(err.path, SHARD2);
      assert.equal(err.expected.hex, sha256(join(repoDir, SHARD2)));
      assert.match(err.message, /checksum mismatch/);
      return true;
    });
    assert.ok(!existsSync(join(out, SHARD2)) && !existsSync(join(out, `${SHARD2}.part`)));
    assert.equal(readSourceStamp(out)?.complete, false);
    assert.ok(readSourceStamp(out)?.files[SHARD1], 'files verified before the failure are recorded');

    const r = await pull(out);
    assert.ok(r.downloaded.includes(SHARD2) && !r.downloaded.includes(SHARD1));
    assert.equal(sha256(join(out, SHARD2)), sha256(join(repoDir, SHARD2)));
  });

  test('a gated repository without HF_TOKEN: the 401 becomes a clear refusal and nothing is written', async () => {
    const out = freshDir();
    const mark = hub.requests.length;
    await assert.rejects(pullRepo({ repo: 'acme/Yi-VL-gated', out, hubUrl: hub.url }), (err: unknown) => {
      assert.ok(err instanceof HubAccessError, String(err));
      assert.equal(err.statusCode, 401);
      assert.match(
        err.message,
        /acme\/Yi-VL-gated is gated: accept its conditions at http:\/\/127\.0\.0\.1:\d+\/acme\/Yi-VL-gated/,
      );
      assert.match(err.message, /HF_TOKEN/);
      return true;
    });
    assert.ok(contentRequests(mark).some((q) => q.status === 401 && !q.authorization));
    assert.ok(!existsSync(join(out, SHARD1)) && !existsSync(join(out, `${SHARD1}.part`)));

    const r = await pullRepo({ repo: 'acme/Yi-VL-gated', out, hubUrl: hub.url, accessToken: TOKEN });
    assert.equal(r.downloaded.length, 11);
    assert.ok(contentRequests(mark).some((q) => q.authorization === `Bearer ${TOKEN}` && q.status === 302));
  });

  test('not enough free space is refused before the first byte', async () => {
    const out = freshDir();
    const mark = hub.requests.length;
    await assert.rejects(pull(out, { freeBytes: async () => 5_000_000 }), (err: unknown) => {
      assert.ok(err instanceof NoSpaceError, String(err));
      assert.ok(err.neededBytes > 18_000_000 && err.freeBytes === 5_000_000);
      assert.match(err.message, /not enough disk space .*18\.\d MB to download, 5\.00 MB free/);
      return true;
    });
    assert.equal(contentRequests(mark).length, 0);
    assert.ok(!existsSync(out));
  });

  test('unknown repositories and revisions are named as such', async () => {
    await assert.rejects(
      pull(freshDir(), { repo: '01-ai/No-Such-Model' }),
      /No-Such-Model was not found on .*or it is private/,
    );
    await assert.rejects(pull(freshDir(), { revision: 'v9' }), /no revision "v9"/);
    await assert.rejects(pull(freshDir(), { accessToken: 'hf_notAKnownToken' }), /refused HF_TOKEN/);
  });

  test('--revision pins a commit; Yi-VL-34B (8 shards, its own vit folder) pulls the same way', async () => {
    const commit = hub.commitOf('01-ai/Yi-VL-34B');
    const out = freshDir();
    const r = await pull(out, { repo: '01-ai/Yi-VL-34B', revision: commit });
    assert.equal(r.revision, commit);
    assert.equal(r.downloaded.filter((f) => /^pytorch_model-0000\d-of-00008\.bin$/.test(f)).length, 8);
    assert.ok(existsSync(join(out, officialTowerDir('34B'), 'pytorch_model.bin')));
    assert.ok(!existsSync(join(out, officialTowerDir('34B'), 'open_clip_pytorch_model.bin')));
    assert.ok(existsSync(join(out, SOURCE_STAMP)));
  });
});
