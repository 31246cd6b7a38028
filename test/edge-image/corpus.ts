/**
 * A corpus of hostile and awkward uploads, generated with sharp at test time (nothing downloaded, nothing stored).
 * Hostile files carry the problem code they must produce; valid ones carry their expected format, oriented size and
 * pixel checks on the 448×448 output.
 */
import sharp, { type Sharp } from 'sharp';
import type { ProblemCode } from '../../shared/errors/problem.ts';
import type { ImageFormat } from '../../shared/image/formats.ts';
import { squarePlacement, YI_VL_PAD_RGB } from '../../shared/image/yi-vl-resize.ts';
import { damagedJpegs, damagedPngs } from './damaged-corpus.ts';

export type Rgb = readonly [number, number, number];

export interface HostileCase {
  name: string;
  bytes: Uint8Array;
  code: ProblemCode;
  /** Must be refused before decoding: within this many ms. */
  refuseWithinMs?: number;
}

/** A point on the oriented (displayed) image and the colour expected there, within `tolerance`. */
export interface Probe {
  x: number;
  y: number;
  rgb: Rgb;
  tolerance: number;
}

export interface ValidCase {
  name: string;
  bytes: Uint8Array;
  format: ImageFormat;
  width: number;
  height: number;
  probes: Probe[];
  /** Wider colour tolerance on the WebAssembly path (naive CMYK→RGB there, ICC-managed in sharp). */
  wasmTolerance?: number;
}

export const RED: Rgb = [230, 20, 20];
export const GREEN: Rgb = [20, 170, 60];
export const BLUE: Rgb = [30, 40, 220];
export const SLATE: Rgb = [90, 110, 150];

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Solid `base` with a `corner`-coloured block over the top-left 30% × 30% (stored orientation). */
function cornerRaw(width: number, height: number, base: Rgb, corner: Rgb): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  const cw = Math.floor(width * 0.3);
  const ch = Math.floor(height * 0.3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(x < cw && y < ch ? corner : base, (y * width + x) * 3);
  }
  return raw;
}

function fromRaw(raw: Buffer, width: number, height: number, channels: 3 | 4 = 3): Sharp {
  return sharp(raw, { raw: { width, height, channels } });
}

/** Where the stored top-left corner lands on the displayed image for each EXIF orientation. */
function displayedCorner(orientation: number, w: number, h: number): { x: number; y: number } {
  // Centre of the stored corner block, then mapped like applyOrientation.
  const sx = Math.floor(w * 0.15);
  const sy = Math.floor(h * 0.15);
  switch (orientation) {
    case 2:
      return { x: w - 1 - sx, y: sy };
    case 3:
      return { x: w - 1 - sx, y: h - 1 - sy };
    case 4:
      return { x: sx, y: h - 1 - sy };
    case 5:
      return { x: sy, y: sx };
    case 6:
      return { x: h - 1 - sy, y: sx };
    case 7:
      return { x: h - 1 - sy, y: w - 1 - sx };
    case 8:
      return { x: sy, y: w - 1 - sx };
    default:
      return { x: sx, y: sy };
  }
}

function patch(bytes: Uint8Array, offset: number, values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, offset);
  return out;
}

function indexOf(bytes: Uint8Array, ascii: string, from = 0): number {
  outer: for (let i = from; i + ascii.length <= bytes.length; i++) {
    for (let j = 0; j < ascii.length; j++) if (bytes[i + j] !== ascii.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}

function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

export async function buildCorpus(): Promise<{ hostile: HostileCase[]; valid: ValidCase[] }> {
  const W = 200;
  const H = 120;
  const base = cornerRaw(W, H, GREEN, RED);
  const jpeg = u8(await fromRaw(base, W, H).jpeg({ quality: 95 }).toBuffer());
  const png = u8(await fromRaw(base, W, H).png().toBuffer());
  const webp = u8(await fromRaw(base, W, H).webp({ lossless: true }).toBuffer());
  const gif = u8(await fromRaw(base, W, H).gif().toBuffer());
  const avif = u8(await fromRaw(base, W, H).avif({ quality: 90, effort: 0 }).toBuffer());
  const tiny = u8(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .png()
      .toBuffer(),
  );
  const tinyJpeg = u8(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer(),
  );

  // --- hostile ---------------------------------------------------------------------------------------------------
  const hostile: HostileCase[] = [];
  const cut = (b: Uint8Array, f: number) => b.slice(0, Math.floor(b.length * f));
  hostile.push({ name: 'truncated JPEG (half the scan data)', bytes: cut(jpeg, 0.5), code: 'image_corrupt' });
  hostile.push({ name: 'truncated JPEG (before the frame header)', bytes: jpeg.slice(0, 20), code: 'image_corrupt' });
  hostile.push({ name: 'truncated PNG (half)', bytes: cut(png, 0.5), code: 'image_corrupt' });
  hostile.push({ name: 'truncated PNG (inside IHDR)', bytes: png.slice(0, 20), code: 'image_corrupt' });
  hostile.push({ name: 'truncated WebP', bytes: cut(webp, 0.5), code: 'image_corrupt' });
  hostile.push({ name: 'truncated GIF', bytes: cut(gif, 0.3), code: 'image_corrupt' });
  hostile.push({ name: 'truncated AVIF', bytes: cut(avif, 0.5), code: 'image_corrupt' });
  hostile.push({ name: 'empty upload', bytes: new Uint8Array(0), code: 'image_corrupt' });

  // Bombs: tiny files whose headers claim enormous sizes. They must be refused from the header alone.
  const fast = 50;
  hostile.push({
    name: 'PNG bomb 20000×20000 (IHDR)',
    bytes: patch(tiny, 16, [...be32(20000), ...be32(20000)]),
    code: 'image_too_large',
    refuseWithinMs: fast,
  });
  hostile.push({
    name: 'PNG 8000×8000 = 64 MP (under the side cap, over the pixel cap)',
    bytes: patch(tiny, 16, [...be32(8000), ...be32(8000)]),
    code: 'image_too_large',
    refuseWithinMs: fast,
  });
  const sof = indexOf(tinyJpeg, '\xff\xc0');
  hostile.push({
    name: 'JPEG bomb 60000×60000 (SOF0)',
    bytes: patch(tinyJpeg, sof + 5, [0xea, 0x60, 0xea, 0x60]),
    code: 'image_too_large',
    refuseWithinMs: fast,
  });
  hostile.push({
    name: 'GIF bomb 65535×65535 (logical screen)',
    bytes: patch(gif, 6, [0xff, 0xff, 0xff, 0xff]),
    code: 'image_too_large',
    refuseWithinMs: fast,
  });
  const vp8x = concat(
    text('RIFF'),
    new Uint8Array([22, 0, 0, 0]),
    text('WEBPVP8X'),
    new Uint8Array([10, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x3f]),
  );
  hostile.push({ name: 'WebP bomb 4M×4M (VP8X canvas)', bytes: vp8x, code: 'image_too_large', refuseWithinMs: fast });
  const ispe = indexOf(avif, 'ispe');
  hostile.push({
    name: 'AVIF bomb 30000×30000 (ispe)',
    bytes: patch(avif, ispe + 8, [...be32(30000), ...be32(30000)]),
    code: 'image_too_large',
    refuseWithinMs: fast,
  });

  // Not images, or not accepted ones: 415 whatever they are called.
  hostile.push({
    name: 'SVG',
    bytes: text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
    code: 'unsupported_media_type',
  });
  hostile.push({
    name: 'SVG with XML declaration',
    bytes: text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'),
    code: 'unsupported_media_type',
  });
  hostile.push({
    name: 'PDF',
    bytes: text('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF'),
    code: 'unsupported_media_type',
  });
  hostile.push({
    name: 'HTML',
    bytes: text('<!DOCTYPE html><html><body>hi</body></html>'),
    code: 'unsupported_media_type',
  });
  hostile.push({
    name: 'TIFF',
    bytes: u8(await fromRaw(base, W, H).tiff().toBuffer()),
    code: 'unsupported_media_type',
  });
  hostile.push({ name: 'BMP magic', bytes: concat(text('BM'), new Uint8Array(64)), code: 'unsupported_media_type' });
  hostile.push({
    name: 'HEIC brand (ISO media, not AVIF)',
    bytes: concat(new Uint8Array([0, 0, 0, 24]), text('ftypheic'), new Uint8Array(4), text('mif1heic')),
    code: 'unsupported_media_type',
  });
  hostile.push({
    name: 'random bytes',
    bytes: new Uint8Array(512).map((_, i) => (i * 37 + 11) & 255),
    code: 'unsupported_media_type',
  });

  // Polyglots.
  hostile.push({
    name: 'HTML document with a JPEG embedded after it',
    bytes: concat(text('<html><script>alert(1)</script>'), jpeg),
    code: 'unsupported_media_type',
  });
  hostile.push({
    name: 'PNG signature followed by HTML',
    bytes: concat(png.slice(0, 8), text('<html><script>alert(1)</script></html>'.padEnd(64, ' '))),
    code: 'image_corrupt',
  });
  hostile.push({
    name: 'GIF header (1×1) followed by JavaScript',
    bytes: concat(text('GIF89a'), new Uint8Array([1, 0, 1, 0, 0, 0, 0]), text('=1;alert(document.domain)//')),
    code: 'image_corrupt',
  });

  // Damaged files the reference decoders refuse (damaged-corpus.ts): the same verdict on every runtime.
  const damaged = [damagedPngs(png, base, W, H), damagedJpegs(jpeg)];
  for (const c of damaged.flatMap((d) => d.refused)) {
    hostile.push({ name: `damaged: ${c.name}`, bytes: c.bytes, code: 'image_corrupt' });
  }

  // --- valid but awkward -----------------------------------------------------------------------------------------
  const valid: ValidCase[] = [];
  const near = 40; // lossy codecs and colour conversion
  const probesFor = (corner: { x: number; y: number }, opposite: { x: number; y: number }) => [
    { ...corner, rgb: RED, tolerance: near },
    { ...opposite, rgb: GREEN, tolerance: near },
  ];
  for (const [format, bytes] of [
    ['jpeg', jpeg],
    ['png', png],
    ['webp', webp],
    ['gif', gif],
    ['avif', avif],
  ] as const) {
    valid.push({
      name: `${format} ${W}×${H}`,
      bytes,
      format,
      width: W,
      height: H,
      probes: probesFor(displayedCorner(1, W, H), { x: W - 20, y: H - 20 }),
    });
  }
  for (let orientation = 2; orientation <= 8; orientation++) {
    const bytes = u8(await fromRaw(base, W, H).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer());
    const swap = orientation >= 5;
    const ow = swap ? H : W;
    const oh = swap ? W : H;
    const corner = displayedCorner(orientation, W, H);
    // The displayed point diagonally opposite the red corner is green.
    valid.push({
      name: `JPEG EXIF orientation ${orientation}`,
      bytes,
      format: 'jpeg',
      width: ow,
      height: oh,
      probes: probesFor(corner, { x: ow - 1 - corner.x, y: oh - 1 - corner.y }),
    });
  }
  for (const [format, encode] of [
    ['webp', (s: Sharp) => s.webp({ lossless: true })],
    ['png', (s: Sharp) => s.png()],
  ] as const) {
    const bytes = u8(
      await encode(fromRaw(base, W, H))
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const corner = displayedCorner(6, W, H);
    valid.push({
      name: `${format === 'png' ? 'PNG eXIf' : 'WebP EXIF'} orientation 6`,
      bytes,
      format,
      width: H,
      height: W,
      probes: probesFor(corner, { x: H - 1 - corner.x, y: W - 1 - corner.y }),
    });
  }
  valid.push({
    name: 'progressive JPEG',
    bytes: u8(await fromRaw(base, W, H).jpeg({ quality: 95, progressive: true }).toBuffer()),
    format: 'jpeg',
    width: W,
    height: H,
    probes: probesFor(displayedCorner(1, W, H), { x: W - 20, y: H - 20 }),
  });
  valid.push({
    name: 'interlaced PNG',
    bytes: u8(await fromRaw(base, W, H).png({ progressive: true }).toBuffer()),
    format: 'png',
    width: W,
    height: H,
    probes: probesFor(displayedCorner(1, W, H), { x: W - 20, y: H - 20 }),
  });

  const solid = (w: number, h: number, rgb: Rgb) => fromRaw(cornerRaw(w, h, rgb, rgb), w, h);
  valid.push({
    name: 'CMYK JPEG',
    // An in-gamut colour: CMYK round trips clip saturated sRGB.
    bytes: u8(await solid(64, 48, SLATE).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer()),
    format: 'jpeg',
    width: 64,
    height: 48,
    probes: [{ x: 32, y: 24, rgb: SLATE, tolerance: 12 }],
    wasmTolerance: 50,
  });
  valid.push({
    name: '16-bit PNG',
    bytes: u8(await solid(50, 30, BLUE).toColourspace('rgb16').png().toBuffer()),
    format: 'png',
    width: 50,
    height: 30,
    probes: [{ x: 25, y: 15, rgb: BLUE, tolerance: 2 }],
  });
  valid.push({
    name: 'palette PNG',
    bytes: u8(await fromRaw(base, W, H).png({ palette: true }).toBuffer()),
    format: 'png',
    width: W,
    height: H,
    probes: probesFor(displayedCorner(1, W, H), { x: W - 20, y: H - 20 }),
  });
  valid.push({
    name: 'greyscale JPEG',
    bytes: u8(await solid(40, 40, [128, 128, 128]).toColourspace('b-w').jpeg().toBuffer()),
    format: 'jpeg',
    width: 40,
    height: 40,
    probes: [{ x: 20, y: 20, rgb: [128, 128, 128], tolerance: 3 }],
  });
  {
    // Left half opaque red, right half fully transparent (whatever colour is hidden there must not show).
    const w = 60;
    const h = 40;
    const raw = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) raw.set(x < w / 2 ? [...RED, 255] : [255, 255, 255, 0], (y * w + x) * 4);
    }
    valid.push({
      name: 'alpha PNG (transparent half flattened onto the pad colour)',
      bytes: u8(await fromRaw(raw, w, h, 4).png().toBuffer()),
      format: 'png',
      width: w,
      height: h,
      probes: [
        { x: 10, y: 20, rgb: RED, tolerance: 1 },
        { x: 50, y: 20, rgb: YI_VL_PAD_RGB, tolerance: 1 },
      ],
    });
  }
  {
    // GIF transparency (GCE), as libnsgif (sharp) and the WASM path's own decoder must both read it (interlacing: gif-decode.test.ts).
    const w = 64;
    const h = 40;
    const raw = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) raw.set(x < w / 2 ? [...RED, 255] : [0, 0, 0, 0], (y * w + x) * 4);
    }
    valid.push({
      name: 'transparent GIF',
      bytes: u8(await fromRaw(raw, w, h, 4).gif().toBuffer()),
      format: 'gif',
      width: w,
      height: h,
      probes: [
        { x: 10, y: 20, rgb: RED, tolerance: 30 },
        { x: 56, y: 20, rgb: YI_VL_PAD_RGB, tolerance: 1 },
      ],
    });
  }
  {
    // Lossy WebP with an alpha plane (VP8X + ALPH): the transparent half lands on the pad colour.
    const w = 64;
    const h = 40;
    const raw = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) raw.set(x < w / 2 ? [...BLUE, 255] : [0, 0, 0, 0], (y * w + x) * 4);
    }
    valid.push({
      name: 'lossy WebP with alpha',
      bytes: u8(await fromRaw(raw, w, h, 4).webp({ quality: 90, alphaQuality: 100 }).toBuffer()),
      format: 'webp',
      width: w,
      height: h,
      probes: [
        { x: 10, y: 20, rgb: BLUE, tolerance: 20 },
        { x: 56, y: 20, rgb: YI_VL_PAD_RGB, tolerance: 3 },
      ],
    });
  }
  {
    const w = 48;
    const h = 32;
    const frames = Buffer.concat([cornerRaw(w, h, RED, RED), cornerRaw(w, h, BLUE, BLUE)]);
    valid.push({
      name: 'animated GIF (first frame only)',
      bytes: u8(
        await sharp(frames, { raw: { width: w, height: h * 2, channels: 3, pageHeight: h } })
          .gif()
          .toBuffer(),
      ),
      format: 'gif',
      width: w,
      height: h,
      probes: [{ x: 24, y: 16, rgb: RED, tolerance: 30 }],
    });
  }
  for (const [w, h] of [
    [4000, 10],
    [10, 4000],
    [4000, 400],
  ] as const) {
    // A 10-px band shrinks to ~1 px and blends with the pad; only the 400-px band has a pure interior to probe.
    valid.push({
      name: `extreme aspect ${w}×${h}`,
      bytes: u8(await solid(w, h, RED).png().toBuffer()),
      format: 'png',
      width: w,
      height: h,
      probes: Math.min(w, h) >= 100 ? [{ x: Math.floor(w / 2), y: Math.floor(h / 2), rgb: RED, tolerance: 3 }] : [],
    });
  }
  valid.push({
    name: '1×1 PNG',
    bytes: u8(await solid(1, 1, GREEN).png().toBuffer()),
    format: 'png',
    width: 1,
    height: 1,
    probes: [{ x: 0, y: 0, rgb: GREEN, tolerance: 0 }],
  });
  // A valid JPEG with an HTML payload appended: accepted, and the stored PNG is a re-encode without it.
  valid.push({
    name: 'JPEG with appended HTML (polyglot tail)',
    bytes: concat(jpeg, text('<html><script>alert(1)</script></html>')),
    format: 'jpeg',
    width: W,
    height: H,
    probes: probesFor(displayedCorner(1, W, H), { x: W - 20, y: H - 20 }),
  });
  for (const c of damaged.flatMap((d) => d.quirky)) {
    valid.push({
      name: `quirky: ${c.name}`,
      bytes: c.bytes,
      format: c.name.startsWith('PNG') ? 'png' : 'jpeg',
      width: W,
      height: H,
      probes: c.intact ? probesFor(displayedCorner(1, W, H), { x: W - 20, y: H - 20 }) : [],
    });
  }
  return { hostile, valid };
}

/**
 * Ordinary camera- and screen-sized images, larger than a Workers isolate decodes itself: a 12 MP phone JPEG (EXIF
 * orientation 6), a 7000×7000 PNG and an animated WebP. Every edge must accept them with the same oriented size.
 */
export async function buildLargeCorpus(): Promise<ValidCase[]> {
  const cornered = (w: number, h: number) =>
    sharp({
      create: { width: w, height: h, channels: 3, background: { r: GREEN[0], g: GREEN[1], b: GREEN[2] } },
    }).composite([
      {
        input: {
          create: {
            width: Math.floor(w * 0.3),
            height: Math.floor(h * 0.3),
            channels: 3,
            background: { r: RED[0], g: RED[1], b: RED[2] },
          },
        },
        left: 0,
        top: 0,
      },
    ]);
  const probes = (orientation: number, w: number, h: number) => {
    const c = displayedCorner(orientation, w, h);
    const [ow, oh] = orientation >= 5 ? [h, w] : [w, h];
    return [
      { ...c, rgb: RED, tolerance: 40 },
      { x: ow - 1 - c.x, y: oh - 1 - c.y, rgb: GREEN, tolerance: 40 },
    ];
  };
  const phone = u8(await cornered(4000, 3000).jpeg({ quality: 85 }).withMetadata({ orientation: 6 }).toBuffer());
  const big = u8(await cornered(7000, 7000).png().toBuffer());
  const w = 64;
  const h = 48;
  const frames = Buffer.concat([cornerRaw(w, h, GREEN, RED), cornerRaw(w, h, BLUE, BLUE)]);
  const animated = u8(
    await sharp(frames, { raw: { width: w, height: h * 2, channels: 3, pageHeight: h } })
      .webp({ lossless: true })
      .toBuffer(),
  );
  return [
    {
      name: '12 MP phone JPEG 4000×3000, EXIF orientation 6',
      bytes: phone,
      format: 'jpeg',
      width: 3000,
      height: 4000,
      probes: probes(6, 4000, 3000),
    },
    {
      name: 'PNG 7000×7000 (49 MP)',
      bytes: big,
      format: 'png',
      width: 7000,
      height: 7000,
      probes: probes(1, 7000, 7000),
    },
    {
      name: 'animated WebP (first frame)',
      bytes: animated,
      format: 'webp',
      width: w,
      height: h,
      probes: probes(1, w, h),
    },
  ];
}

/** Maps a point on the oriented image to the 448×448 output (centre of the source pixel). */
export function toModelPoint(x: number, y: number, width: number, height: number): { x: number; y: number } {
  const { side, left, top } = squarePlacement(width, height);
  const scale = 448 / side;
  return {
    x: Math.min(447, Math.floor((left + x + 0.5) * scale)),
    y: Math.min(447, Math.floor((top + y + 0.5) * scale)),
  };
}
