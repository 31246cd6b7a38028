import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { preprocessForYiVl } from './sharp-preprocess.ts';
import { SquareBufferPool } from './square-buffers.ts';

const MIB = 1 << 20;

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('a released buffer is handed out again, to a request of any size it can hold', async () => {
  const pool = new SquareBufferPool({ maxBufferBytes: 8 * MIB, maxRetainedBytes: 16 * MIB, maxInUse: 4 });
  const first = await pool.with(3 * MIB + 5, async (b) => b.buffer);
  assert.equal(pool.retainedBytes, 4 * MIB, 'capacity is rounded up to whole MiB');
  const second = await pool.with(2 * MIB, async (b) => {
    assert.equal(b.length, 2 * MIB);
    return b.buffer;
  });
  assert.equal(second, first);
});

test('buffers above the size limit are not kept, and the idle total stays within its budget', async () => {
  const pool = new SquareBufferPool({ maxBufferBytes: 4 * MIB, maxRetainedBytes: 6 * MIB, maxInUse: 4 });
  await pool.with(5 * MIB, async () => undefined);
  assert.equal(pool.retainedBytes, 0);
  // Three squares at once, then all released: only what fits the budget stays.
  const hold = gate();
  const uses = [3, 3, 3].map((mib) => pool.with(mib * MIB, () => hold.opened));
  hold.open();
  await Promise.all(uses);
  assert.equal(pool.retainedBytes, 6 * MIB);
});

test('no more than maxInUse squares exist at once; the next caller waits for a release', async () => {
  const pool = new SquareBufferPool({ maxBufferBytes: 4 * MIB, maxRetainedBytes: 8 * MIB, maxInUse: 2 });
  const holds = [gate(), gate(), gate()];
  const started: number[] = [];
  const uses = holds.map((h, i) =>
    pool.with(MIB, async () => {
      started.push(i);
      await h.opened;
    }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(pool.load, { inUse: 2, waiting: 1 });
  holds[1]!.open();
  await uses[1];
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, [0, 1, 2]);
  holds[0]!.open();
  holds[2]!.open();
  await Promise.all(uses);
  assert.deepEqual(pool.load, { inUse: 0, waiting: 0 });
});

test('a failing use releases its turn and its buffer', async () => {
  const pool = new SquareBufferPool({ maxBufferBytes: 4 * MIB, maxRetainedBytes: 8 * MIB, maxInUse: 1 });
  await assert.rejects(
    pool.with(MIB, async () => {
      throw new Error('resize failed');
    }),
    /resize failed/,
  );
  assert.deepEqual(pool.load, { inUse: 0, waiting: 0 });
  assert.equal(pool.retainedBytes, MIB);
  assert.equal(await pool.with(MIB, async () => 'next'), 'next');
});

test('model inputs prepared many at once, in reused squares, equal the ones prepared one at a time', async () => {
  const photo = (width: number, height: number, seed: number) =>
    sharp({
      create: {
        width,
        height,
        channels: 3,
        background: { r: seed, g: 90, b: 200 - seed },
        noise: { type: 'gaussian', mean: 128, sigma: 50 },
      },
    })
      .jpeg({ quality: 80 })
      .toBuffer();
  const uploads = await Promise.all([
    photo(900, 600, 10),
    photo(500, 800, 60),
    photo(1000, 1000, 120),
    photo(700, 520, 180),
  ]);
  const alone: Uint8Array[] = [];
  for (const u of uploads) alone.push((await preprocessForYiVl(u)).png);
  // 12 at once, sizes interleaved, so squares are reused across images of other sizes while others are in flight.
  const together = await Promise.all(Array.from({ length: 12 }, (_, i) => preprocessForYiVl(uploads[i % 4]!)));
  for (const [i, prepared] of together.entries()) {
    assert.deepEqual(prepared.png, alone[i % 4], `upload ${i % 4}, run ${i}`);
  }
});
