/** The queue port: SQS semantics (at-least-once, visibility timeout, receive count for dead-lettering). */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** How many times this message has been received, this time included. */
  receiveCount: number;
  /** When the message was first sent (ms since epoch). */
  sentAt?: number;
}

export interface ReceiveOptions {
  maxMessages?: number;
  /** Long-poll duration, 0–20 s. */
  waitSeconds?: number;
  visibilityTimeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface JobQueue {
  readonly url: string;
  send(body: string, options?: { delaySeconds?: number }): Promise<{ messageId: string }>;
  receive(options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  depth(): Promise<QueueDepth>;
}

export class QueueUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueUnavailableError';
  }
}
