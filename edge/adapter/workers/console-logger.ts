import type { EdgeLogger } from '../../logger.ts';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

/** JSON lines on console (Workers Logs picks them up), pino-shaped so the Node and Workers logs read alike. */
export function consoleLogger(minLevel: string, bindings: Record<string, unknown> = {}): EdgeLogger {
  const min = LEVELS[minLevel as Level] ?? LEVELS.info;
  const write = (level: Level) => (obj: object, msg?: string) => {
    if (LEVELS[level] < min) return;
    console.log(JSON.stringify({ level: LEVELS[level], time: Date.now(), service: 'edge', ...bindings, ...obj, msg }));
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => consoleLogger(minLevel, { ...bindings, ...more }),
  };
}
