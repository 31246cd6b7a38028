import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hono } from 'hono';
import type { EdgeEnv } from '../context.ts';
import { PLAYGROUND_HTML } from './page.ts';
import { PLAYGROUND_CSP, registerPlaygroundRoutes } from './routes.ts';
import { PLAYGROUND_JS } from './script.ts';
import { PLAYGROUND_CSS } from './styles.ts';

describe('playground assets', () => {
  const app = new Hono<EdgeEnv>();
  registerPlaygroundRoutes(app);

  test('/ and /playground serve the page; script and stylesheet are same-origin files; CSP allows only self', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/playground', 'text/html'],
      ['/playground/app.js', 'text/javascript'],
      ['/playground/app.css', 'text/css'],
    ] as const) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}; charset=utf-8`), path);
      assert.equal(res.headers.get('content-security-policy'), PLAYGROUND_CSP, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
    const directives = new Map(
      PLAYGROUND_CSP.split('; ').map((d) => {
        const [name, ...values] = d.split(' ');
        return [name!, values];
      }),
    );
    for (const d of ['default-src', 'script-src', 'style-src', 'connect-src'])
      assert.deepEqual(directives.get(d), ["'self'"], d);
    assert.deepEqual(directives.get('img-src'), ["'self'", 'blob:']);
  });

  test('works offline: no external host, no inline script or style attribute', () => {
    for (const [name, text] of [
      ['html', PLAYGROUND_HTML],
      ['js', PLAYGROUND_JS],
      ['css', PLAYGROUND_CSS],
    ] as const)
      assert.doesNotMatch(text, /(?:src|href)\s*=\s*["']?(?:https?:)?\/\/|@import|url\(\s*["']?https?:/i, name);
    const scripts = [...PLAYGROUND_HTML.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]![1]!, /src="\/playground\/app\.js"/);
    assert.equal(scripts[0]![2]!.trim(), '', 'no inline script');
    assert.doesNotMatch(PLAYGROUND_HTML, /\sstyle=|\son[a-z]+=/i, 'no inline style or handler attributes');
  });

  test('the script parses and every element id it looks up exists in the page', () => {
    // Parse only (a module body is valid function-body syntax here: no import/export statements).
    assert.doesNotMatch(PLAYGROUND_JS, /^\s*(?:import|export)\s/m);
    assert.doesNotThrow(() => new Function(`return async () => {\n${PLAYGROUND_JS}\n}`));
    const ids = [...PLAYGROUND_JS.matchAll(/\$\('([a-z-]+)'\)/g)].map((m) => m[1]!);
    assert.ok(ids.length > 20);
    for (const id of ids) assert.match(PLAYGROUND_HTML, new RegExp(`id="${id}"`), id);
  });

  test('accessible markup: every form control has a label; live regions announce status and errors', () => {
    const controls = [...PLAYGROUND_HTML.matchAll(/<(?:input|textarea|select)\b[^>]*\bid="([^"]+)"/g)].map(
      (m) => m[1]!,
    );
    assert.ok(controls.length >= 6);
    for (const id of controls) assert.match(PLAYGROUND_HTML, new RegExp(`<label[^>]*for="${id}"`), id);
    assert.match(PLAYGROUND_HTML, /<html lang="en">/);
    assert.match(PLAYGROUND_HTML, /name="viewport" content="width=device-width/);
    assert.match(PLAYGROUND_HTML, /id="status" role="status" aria-live="polite"/);
    assert.match(PLAYGROUND_HTML, /id="error"[^>]*role="alert"/);
    assert.match(PLAYGROUND_HTML, /href="\/docs"/);
    assert.match(PLAYGROUND_CSS, /:focus-visible\{outline:/);
  });
});
