import type { ConversationTurn, GenerationParams, JobOutput } from '../shared/index.ts';

/**
 * The one interface between the queue consumer and the model. The consumer knows nothing about Yi-VL; the Yi-VL
 * pipeline (gpu-worker/yi-vl/pipeline/analyzer.ts) implements this, and tests may use a small deterministic one.
 * Failures are reported with the typed errors of `analyzer-errors.ts`.
 */
export interface AnalyzeRequest {
  /** The job being answered (for logs); absent outside the worker (CLI, tests). */
  jobId?: string;
  /** The 448×448 PNG the edge stored (`inputs/…/model-input.png`). */
  image: Uint8Array;
  /** The new question. */
  prompt: string;
  /** Earlier rounds about the same image, oldest first (the image belongs to the first). */
  history?: readonly ConversationTurn[];
  /** Sampling settings; unset ones take the model's defaults. */
  params?: Partial<GenerationParams>;
  /** Incremental answer text as it is generated (whole characters). */
  onText?: (delta: string) => void;
}

export interface AnalyzeResult {
  text: string;
  finish_reason: JobOutput['finish_reason'];
  prompt_tokens: number;
  image_tokens: number;
  completion_tokens: number;
  /** Time the model held the accelerator for this job (the billing unit). */
  gpu_ms: number;
}

export interface Analyzer {
  /** Must stop between generation steps when `signal` aborts, resolving with finish_reason `canceled`. */
  analyze(request: AnalyzeRequest, signal: AbortSignal): Promise<AnalyzeResult>;
  /** Human-readable description for start-up logs (model, precision, execution provider). */
  describe(): string;
  /** Conditions an operator must see at start-up, e.g. CUDA requested but the model fell back to the CPU. */
  startupWarnings?(): string[];
  close(): Promise<void>;
}
