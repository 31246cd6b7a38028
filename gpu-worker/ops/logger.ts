import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout. Secrets never reach a log call by design; the redact list is a second line of defence for
 * fields that could carry them (headers, signing keys, receipt handles).
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'gpu-worker', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'headers',
        '*.headers',
        'secret',
        '*.secret',
        'signingKey',
        'receiptHandle',
        '*.receiptHandle',
        'payload',
        '*.payload',
        'image',
        '*.image',
      ],
      censor: '[redacted]',
    },
  });
}
