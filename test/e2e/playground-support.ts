/**
 * Helpers for the playground browser test: the local stack as a child process (the pattern of
 * local-stack.slow.test.ts) and Debian's Chromium driven by playwright-core, with the flags known to work on
 * a machine without outside network.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const root = resolve(import.meta.dirname, '../..');

/** Why the browser test cannot run here, or null. In CI a missing browser is a failure, never a skip. */
export function skipReason(): string | null {
  if (existsSync(CHROMIUM) || process.env.CI) return null;
  return `${CHROMIUM} is absent: run scripts/install-chromium.sh (Debian's chromium) to run the playground browser test`;
}

export interface LocalStack {
  base: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startLocalStack(apiKey: string, timeoutMs = 120_000): Promise<LocalStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yi-vl-playground-'));
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-stack.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      LOCAL_API_KEY: apiKey,
      LOCAL_DATA_DIR: dataDir,
      MODEL_DIR: '',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (m) return { base: m[1]!, output: () => output, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`local stack did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

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
