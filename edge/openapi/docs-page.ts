import { openApiDocument } from './document.ts';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; description?: string; required?: boolean }[];
  responses?: Record<string, { description?: string }>;
}

let cached: string | null = null;

/** A self-contained HTML reference rendered from the OpenAPI document (no scripts, no CDN). */
export function docsPage(): string {
  if (cached) return cached;
  const doc = openApiDocument() as {
    info: { title: string; description: string };
    paths: Record<string, Record<string, Operation>>;
  };
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<li><code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)}${p.required ? ', required' : ''})${p.description ? ` — ${escapeHtml(p.description)}` : ''}</li>`,
        )
        .join('');
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${escapeHtml(code)}</code> ${escapeHtml(r.description ?? '')}</li>`)
        .join('');
      sections.push(
        `<section><h2><span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>` +
          `<p><strong>${escapeHtml(op.summary ?? '')}</strong></p>${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}` +
          (params ? `<h3>Parameters</h3><ul>${params}</ul>` : '') +
          (responses ? `<h3>Responses</h3><ul>${responses}</ul>` : '') +
          '</section>',
      );
    }
  }
  cached = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}section{border-top:1px solid #ddd;padding:.5rem 0}
.m{display:inline-block;min-width:4em;font-size:.8em;background:#224;color:#fff;border-radius:3px;padding:0 .4em;text-align:center}</style>
</head><body><nav aria-label="Pages"><a href="/playground">Playground</a> · <a href="/openapi.json">OpenAPI</a></nav><h1>${escapeHtml(doc.info.title)}</h1><p>${escapeHtml(doc.info.description)}</p>
<p>Authenticate with <code>Authorization: Bearer &lt;API key&gt;</code>. Errors are <code>application/problem+json</code> (RFC 9457) with a stable <code>code</code>. Machine-readable spec: <a href="/openapi.json">/openapi.json</a>.</p>
${sections.join('\n')}</body></html>`;
  return cached;
}
