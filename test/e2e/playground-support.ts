/**
 * Helpers for the playground browser test: the local stack as a child process (the pattern of
 * local-stack.slow.test.ts) and Debian's Chromium driven by playwright-core, with the flags known to work on
 * a machine without outside network.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser test cannot run here, or null. In CI a missing browser is a failure, never a skip. */
export function skipReason(): string | null {
  if (existsSync(CHROMIUM) || process.env.CI) return null;
  return `${CHROMIUM} is absent: run scripts/install-chromium.sh (Debian's chromium) to run the playground browser test`;
}

export type { LocalStackProcess as LocalStack } from '../support/local-stack-process.ts';
export { repoRoot as root, startLocalStackProcess as startLocalStack } from '../support/local-stack-process.ts';

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a new, empty profile; never a downloaded browser build. */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'yi-vl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A wide picture (sky, grass, a house, the sun), so the model input visibly gains padding above and below. */
export async function scenePng(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270">
    <rect width="480" height="170" fill="#7cc4f4"/><rect y="170" width="480" height="100" fill="#3f9b3a"/>
    <circle cx="380" cy="70" r="40" fill="#ffd23f"/><rect x="70" y="120" width="120" height="80" fill="#b5523b"/>
    <polygon points="60,120 130,70 200,120" fill="#6b2e1f"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
