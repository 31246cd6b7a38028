/**
 * The README's main command (`scripts/local-stack.ts`) as a child process for end-to-end tests: its own data dir,
 * a free port, the tiny random-weight model it makes on first run. Resolves once the banner names the API URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

export interface LocalStackProcess {
  base: string;
  output(): string;
  /** SIGTERM, then the exit code once the stack has drained. */
  terminate(): Promise<number | null>;
  /** SIGKILL (if still running) and remove the data dir. */
  stop(): Promise<void>;
}

export interface LocalStackProcessOptions {
  /** extra environment (e.g. MODEL, HF_ENDPOINT) */
  env?: Record<string, string>;
  /** a data dir kept across starts (not removed by stop()); default: a fresh temporary one */
  dataDir?: string;
}

export async function startLocalStackProcess(
  apiKey: string,
  timeoutMs = 180_000,
  options: LocalStackProcessOptions = {},
): Promise<LocalStackProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'yi-vl-stack-')));
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-stack.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      LOCAL_API_KEY: apiKey,
      LOCAL_DATA_DIR: dataDir,
      MODEL_DIR: '',
      MODEL: '',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (running()) child.kill('SIGKILL');
    await exited;
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
  };
  const terminate = async () => {
    if (running()) child.kill('SIGTERM');
    return exited;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (m) return { base: m[1]!, output: () => output, terminate, stop };
    if (!running() || Date.now() > deadline) {
      await stop();
      throw new Error(`local stack did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
