import type { Hono } from 'hono';
import type { EdgeEnv } from '../context.ts';
import { PLAYGROUND_HTML } from './page.ts';
import { PLAYGROUND_JS } from './script.ts';
import { PLAYGROUND_CSS, PLAYGROUND_ICON } from './styles.ts';

/**
 * Only this origin: no inline script or style, no third-party host. `blob:` images are the object URLs the page makes
 * for the chosen file and for the model input it fetched with the Bearer header.
 */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = {
  'Content-Security-Policy': PLAYGROUND_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Revalidate each load so a redeploy is picked up at once; the assets are small.
  'Cache-Control': 'no-cache',
};

const asset = (body: string, contentType: string) => () =>
  new Response(body, { headers: { 'Content-Type': contentType, ...securityHeaders } });

/** The browser playground at `/` and `/playground`, with its script and stylesheet (no build step, no CDN). */
export function registerPlaygroundRoutes(app: Hono<EdgeEnv>): void {
  const page = asset(PLAYGROUND_HTML, 'text/html; charset=utf-8');
  app.get('/', page);
  app.get('/playground', page);
  app.get('/playground/app.js', asset(PLAYGROUND_JS, 'text/javascript; charset=utf-8'));
  app.get('/playground/app.css', asset(PLAYGROUND_CSS, 'text/css; charset=utf-8'));
  app.get('/playground/icon.svg', asset(PLAYGROUND_ICON, 'image/svg+xml'));
}
