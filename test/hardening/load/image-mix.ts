/**
 * The load mix: ready-encoded `POST /v1/jobs` requests, each with the answer it must get. Valid uploads are the
 * corpus's awkward-but-valid files plus camera-sized photos; hostile ones are the corpus's bombs, truncated and
 * wrong-type files plus requests that are wrong at the HTTP level (bad or missing key, broken multipart, oversize).
 */
import sharp from 'sharp';
import { PROBLEM_CODES, type ProblemCode } from '../../../shared/errors/problem.ts';
import { KEYS } from '../../edge/support/edge-harness.ts';
import { buildCorpus } from '../../edge-image/corpus.ts';

export type Tenant = 'acme' | 'globex';
export const TENANT_KEYS: Record<Tenant, string> = { acme: KEYS.acme, globex: KEYS.globex };

export interface LoadRequest {
  name: string;
  /** The tenant whose key signs it (null: no or a bad key). */
  tenant: Tenant | null;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Send the body as a stream (chunked, no Content-Length), so a cap can only be enforced mid-stream. */
  chunked?: boolean;
  /** 202 for valid uploads; the status and problem code a hostile one must get. */
  expect: { status: 202 } | { status: number; code: ProblemCode };
}

export interface LoadMix {
  valid: LoadRequest[];
  /** Camera-sized photos: the expensive part of the valid traffic. */
  large: LoadRequest[];
  hostile: LoadRequest[];
  /** Small valid uploads, each under its own fixed Idempotency-Key: every 202 for a key must be the same job. */
  idempotent: LoadRequest[];
  /** Share of requests drawn from `hostile`, `large` and `idempotent`. */
  hostileShare: number;
  largeShare: number;
  idempotentShare: number;
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

async function multipart(parts: {
  image?: { bytes: Uint8Array; filename: string; type: string };
  fields?: Record<string, string>;
}): Promise<{ body: Uint8Array; contentType: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(parts.fields ?? {})) form.set(k, v);
  if (parts.image)
    form.set(
      'image',
      new Blob([parts.image.bytes as Uint8Array<ArrayBuffer>], { type: parts.image.type }),
      parts.image.filename,
    );
  const encoded = new Response(form);
  return {
    body: new Uint8Array(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type') ?? '',
  };
}

async function upload(
  name: string,
  tenant: Tenant,
  bytes: Uint8Array,
  expect: LoadRequest['expect'],
  fields: Record<string, string> = { prompt: 'Describe the image.' },
): Promise<LoadRequest> {
  // The declared type is deliberately generic: the edge must sniff, never trust it.
  const { body, contentType } = await multipart({
    image: { bytes, filename: 'upload.bin', type: 'application/octet-stream' },
    fields,
  });
  return {
    name,
    tenant,
    headers: { authorization: `Bearer ${TENANT_KEYS[tenant]}`, 'content-type': contentType },
    body,
    expect,
  };
}

const refused = (code: ProblemCode) => ({ status: PROBLEM_CODES[code].status, code });

/** A smooth, photo-like JPEG (blurred noise compresses like a real photo, unlike a flat fill). */
async function photo(width: number, height: number, orientation?: number): Promise<Uint8Array> {
  const noise = await sharp({
    create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
  })
    .blur(2)
    .raw()
    .toBuffer();
  const s = sharp(noise, { raw: { width, height, channels: 3 } });
  return u8(await (orientation ? s.withMetadata({ orientation }) : s).jpeg({ quality: 88 }).toBuffer());
}

/** Builds the mix once; `maxUploadBytes` is the edge's MAX_UPLOAD_BYTES (the oversize request just passes it). */
export async function buildLoadMix(maxUploadBytes: number): Promise<LoadMix> {
  const corpus = await buildCorpus();
  const tenants: Tenant[] = ['acme', 'globex'];
  const pick = (i: number) => tenants[i % 2]!;

  const valid = await Promise.all(
    corpus.valid.map((c, i) => upload(`valid: ${c.name}`, pick(i), c.bytes, { status: 202 })),
  );

  const camera = await photo(4032, 3024, 6); // 12 MP phone photo, stored landscape, shown portrait
  const hd = await photo(1920, 1080);
  const pngPhoto = u8(
    await sharp(await photo(1600, 1200))
      .png()
      .toBuffer(),
  );
  const webpPhoto = u8(
    await sharp(await photo(2048, 1536))
      .webp({ quality: 85 })
      .toBuffer(),
  );
  const large = await Promise.all([
    upload(`large: JPEG 4032×3024 EXIF 6 (${kb(camera)})`, 'acme', camera, { status: 202 }),
    upload(`large: JPEG 1920×1080 (${kb(hd)})`, 'globex', hd, { status: 202 }),
    upload(`large: PNG 1600×1200 (${kb(pngPhoto)})`, 'acme', pngPhoto, { status: 202 }),
    upload(`large: WebP 2048×1536 (${kb(webpPhoto)})`, 'globex', webpPhoto, { status: 202 }),
  ]);

  const hostile = await Promise.all(
    corpus.hostile.map((c, i) => upload(`hostile: ${c.name}`, pick(i), c.bytes, refused(c.code))),
  );
  const small = corpus.valid[0]!.bytes;
  const good = await upload('hostile: no API key', 'acme', small, refused('unauthorized'));
  const { authorization: _drop, ...noKeyHeaders } = good.headers;
  hostile.push({ ...good, tenant: null, headers: noKeyHeaders });
  hostile.push({
    ...good,
    name: 'hostile: unknown API key',
    tenant: null,
    headers: { ...good.headers, authorization: 'Bearer yvl_not_a_real_key_0123456789abcdef' },
  });
  hostile.push({
    ...good,
    name: 'hostile: multipart cut off mid-part',
    body: good.body.slice(0, Math.floor(good.body.length / 2)),
    expect: refused('malformed_request'),
  });
  hostile.push({
    ...good,
    name: 'hostile: multipart boundary mismatch',
    headers: { ...good.headers, 'content-type': 'multipart/form-data; boundary=not-the-boundary' },
    expect: refused('malformed_request'),
  });
  hostile.push(
    await upload('hostile: missing prompt', 'globex', small, refused('validation_failed'), { max_new_tokens: '8' }),
  );
  // Over the cap by more than the text-field allowance: refused from Content-Length, before any byte is read.
  const oversize = new Uint8Array(maxUploadBytes + 512 * 1024);
  oversize.set(small);
  const tooLarge = await upload('hostile: body over MAX_UPLOAD_BYTES', 'acme', oversize, refused('payload_too_large'));
  hostile.push(tooLarge, { ...tooLarge, name: 'hostile: streamed body over MAX_UPLOAD_BYTES', chunked: true });

  const idempotent = valid.slice(0, 6).map((r, i) => ({
    ...r,
    name: `idempotent: ${r.name}`,
    headers: { ...r.headers, 'idempotency-key': `load-key-${i}` },
  }));
  return { valid, large, hostile, idempotent, hostileShare: 0.15, largeShare: 0.1, idempotentShare: 0.05 };
}

const kb = (b: Uint8Array) => `${Math.round(b.length / 1024)} KB`;

/** Draws one request: hostile, camera-sized or idempotent by their shares, else a small valid file. */
export function drawRequest(mix: LoadMix, random: () => number): LoadRequest {
  const r = random();
  const large = mix.hostileShare + mix.largeShare;
  const from =
    r < mix.hostileShare
      ? mix.hostile
      : r < large
        ? mix.large
        : r < large + mix.idempotentShare
          ? mix.idempotent
          : mix.valid;
  return from[Math.floor(random() * from.length)]!;
}

/** A small seeded PRNG (mulberry32) so a run's request sequence is reproducible per client. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
