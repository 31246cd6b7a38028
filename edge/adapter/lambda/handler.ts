import { handle } from 'hono/aws-lambda';
import { createApp } from '../../app.ts';
import { parseEdgeConfig } from '../../config.ts';
import { buildNodeDeps } from '../node/build-deps.ts';

/**
 * AWS Lambda entry (API Gateway HTTP API / REST / ALB / function URL). Built once per cold start; configuration
 * errors fail the cold start with every bad variable named. API Gateway caps requests at 29 s, so `Prefer: wait`
 * above ~25 s should not be used through it (function URLs allow longer).
 */
const app = createApp(buildNodeDeps(parseEdgeConfig(process.env)));

export const handler = handle(app);
