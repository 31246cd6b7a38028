import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnalyzeRequest, AnalyzeResult, Analyzer } from '../../../gpu-worker/analyzer.ts';
import { InputInvalidError } from '../../../gpu-worker/analyzer-errors.ts';

/**
 * A deterministic stand-in for the model, steered by words in the prompt:
 * `steps=N` generate N "tokens" (default 3), one per `stepMs`, checking the AbortSignal between steps;
 * `crash` throws a plain (so retryable) error; `fail` throws InputInvalidError; `hang` waits for the abort;
 * `hold` waits until the test calls `release()` (or the abort) before generating, with `held` resolving once a run
 * is waiting there.
 * The answer echoes a hash of the image and prompt, so a test can check exactly what the worker produced.
 */
export class ScriptedAnalyzer implements Analyzer {
  calls = 0;
  active = 0;
  maxActive = 0;
  private gate = new Gate();
  private arrived = new Gate();
  constructor(private readonly stepMs = 50) {}

  /** Resolves once a `hold` run is waiting at the gate. */
  get held(): Promise<void> {
    return this.arrived.opened;
  }

  /** Lets every waiting and future `hold` run go on (until `rearm()`). */
  release(): void {
    this.gate.open();
  }

  /** Closes the gate again for the next `hold` runs. */
  rearm(): void {
    this.gate = new Gate();
    this.arrived = new Gate();
  }

  describe(): string {
    return `scripted test analyzer (${this.stepMs} ms/step)`;
  }

  async close(): Promise<void> {}

  async analyze(req: AnalyzeRequest, signal: AbortSignal): Promise<AnalyzeResult> {
    this.calls++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await this.generate(req, signal);
    } finally {
      this.active--;
    }
  }

  private async generate(req: AnalyzeRequest, signal: AbortSignal): Promise<AnalyzeResult> {
    const t0 = performance.now();
    const words = req.prompt.split(/\s+/);
    if (words.includes('crash')) throw new Error('simulated model crash: CUDA error 700');
    if (words.includes('fail')) throw new InputInvalidError('simulated unreadable image');
    if (words.includes('hold')) {
      this.arrived.open();
      await Promise.race([
        this.gate.opened,
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
      ]);
    }
    const steps = Number(words.find((w) => w.startsWith('steps='))?.slice(6) ?? 3);
    const base = {
      prompt_tokens: words.length,
      image_tokens: 1024,
    };
    const tokens: string[] = [];
    // A job asking for JSON gets the same tokens as a JSON document (what a constrained decoder would produce).
    const format = req.params?.response_format;
    const structured = format !== undefined && format.type !== 'text';
    const done = (finish: AnalyzeResult['finish_reason']): AnalyzeResult => ({
      ...base,
      text: structured ? JSON.stringify({ answer: tokens.join(' '), tokens: tokens.length }) : tokens.join(' '),
      finish_reason: finish,
      completion_tokens: tokens.length,
      gpu_ms: Math.max(1, performance.now() - t0),
    });
    if (words.includes('hang')) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return done('canceled');
    }
    for (let i = 0; i < steps; i++) {
      if (signal.aborted) return done('canceled');
      await sleep(this.stepMs);
      tokens.push(i === 0 ? expectedAnswerHead(req.image, req.prompt) : `t${i}`);
    }
    return done('stop');
  }
}

class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });
}

/** The first "token" the scripted analyzer emits for an image and prompt. */
export function expectedAnswerHead(image: Uint8Array, prompt: string): string {
  return `ans:${createHash('sha256').update(image).update(prompt).digest('hex').slice(0, 16)}`;
}
