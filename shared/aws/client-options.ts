/**
 * What both AWS SDK clients are created with for speed. `cacheMiddleware` (the SDK's documented throughput switch)
 * resolves each command's middleware stack once per client instead of on every request. In exchange, middleware
 * must be added to the client when it is created, never to a single command or later.
 */
export const awsClientSpeedOptions = { cacheMiddleware: true } as const;
