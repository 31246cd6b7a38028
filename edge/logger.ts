/**
 * The logging port the app writes to: a structural subset of pino's Logger, so the Node and Lambda entries pass
 * pino itself and the Workers entry can pass anything with the same shape.
 */
export interface EdgeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): EdgeLogger;
}

export const silentLogger: EdgeLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** The part of an error worth logging: its name and message, never a stack or attached request data. */
export function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'unknown', message: String(err) };
}
