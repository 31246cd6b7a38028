/**
 * Authorization matrix: every operation of the edge's own OpenAPI document × a set of principals (no key, malformed
 * headers, unknown keys, the owner, a second key of the owner's tenant, another tenant), against tenant A's real job
 * on real loopback S3/SQS. Public routes come from an explicit allow-list; any registered route that is neither
 * documented nor allow-listed fails the check, so a new endpoint cannot slip past the matrix.
 */
import { createHash } from 'node:crypto';
import { newBatchId, newJobId } from '../../../shared/ids.ts';
import { JobRepository } from '../../../shared/jobs/job-repository.ts';
import { deriveWebhookSecret } from '../../../shared/webhooks/signing.ts';
import { type EdgeHarness, KEYS, SIGNING_KEY } from '../../edge/support/edge-harness.ts';
import { jpeg, multipart } from '../../edge/support/fixtures.ts';

/** Routes that need no key. They must answer without one and never show tenant data. */
export const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /openapi.json',
  'GET /docs',
  'GET /',
  'GET /playground',
  'GET /playground/app.js',
  'GET /playground/app.css',
  'GET /playground/icon.svg',
] as const;

type Access = 'denied' | 'owner' | 'tenant' | 'other';
interface Principal {
  name: string;
  header: string | null;
  access: Access;
  keyId?: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export function principals(): Principal[] {
  const a = KEYS.acme;
  const denied = (name: string, header: string | null): Principal => ({ name, header, access: 'denied' });
  return [
    denied('no Authorization', null),
    denied('"Bearer" alone', 'Bearer'),
    denied('"Bearer " empty', 'Bearer '),
    denied('Basic with the key', `Basic ${btoa(`${a}:`)}`),
    denied('Basic raw key', `Basic ${a}`),
    denied('Token scheme', `Token ${a}`),
    denied('bare key, no scheme', a),
    denied('two keys', `Bearer ${a} ${KEYS.acme2}`),
    denied('two Bearer credentials', `Bearer ${a}, Bearer ${KEYS.acme2}`),
    denied('quoted key', `Bearer "${a}"`),
    denied('key + 1 char', `Bearer ${a}x`),
    denied('key − 1 char', `Bearer ${a.slice(0, -1)}`),
    denied('key upper-cased', `Bearer ${a.toUpperCase()}`),
    denied('stored sha256 of the key', `Bearer ${sha(a)}`),
    denied('key id instead of key', 'Bearer key_acme'),
    denied('unknown well-formed key', 'Bearer yvl_unknown_key_0123456789abcdefgh'),
    denied('600-char key', `Bearer yvl_${'a'.repeat(596)}`),
    { name: 'owner', header: `Bearer ${a}`, access: 'owner', keyId: 'key_acme' },
    // RFC 9110 §11.1: the scheme is case-insensitive; optional whitespace around the credential is tolerated.
    { name: 'owner, lowercase scheme', header: `bearer ${a}`, access: 'owner', keyId: 'key_acme' },
    { name: 'owner, upper-case scheme', header: `BEARER ${a}`, access: 'owner', keyId: 'key_acme' },
    { name: 'owner, tab and trailing spaces', header: `Bearer\t${a}   `, access: 'owner', keyId: 'key_acme' },
    { name: 'same tenant, second key', header: `Bearer ${KEYS.acme2}`, access: 'tenant', keyId: 'key_acme2' },
    { name: 'other tenant', header: `Bearer ${KEYS.globex}`, access: 'other', keyId: 'key_globex' },
  ];
}

export interface MatrixRow {
  op: string;
  principal: string;
  access: Access;
  status: number;
  ok: boolean;
  why?: string;
}

export interface MatrixReport {
  operations: string[];
  publicRoutes: string[];
  rows: MatrixRow[];
  failures: string[];
}

type OpenApi = { paths: Record<string, Record<string, { security?: unknown[] }>> };

export async function runAuthMatrix(h: EdgeHarness): Promise<MatrixReport> {
  const failures: string[] = [];
  const rows: MatrixRow[] = [];
  const request = (method: string, path: string, header: string | null, body?: unknown) => {
    const headers = new Headers();
    if (header !== null) headers.set('authorization', header);
    if (body !== undefined && !(body instanceof FormData)) headers.set('content-type', 'application/json');
    const payload = body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body);
    return Promise.resolve(h.app.request(path, { method, headers, body: payload }));
  };
  const batchForm = () => {
    const form = new FormData();
    const line = JSON.stringify({ custom_id: 'a', image_url: 'https://images.example.com/a.jpg', prompt: 'What?' });
    form.set('requests', new Blob([`${line}\n`]), 'requests.jsonl');
    return form;
  };

  // Tenant A's data, and one job of the other tenant.
  const prompt = `acme-private-prompt-${sha(String(Math.random())).slice(0, 12)}`;
  const image = await jpeg(24, 24);
  const create = async (key: string, p: string) => {
    const res = await h.app.request('/v1/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: multipart(image, { prompt: p, metadata: JSON.stringify({ order: p }) }),
    });
    if (res.status !== 202) throw new Error(`setup: create answered ${res.status}`);
    return ((await res.json()) as { id: string }).id;
  };
  const jobA = await create(KEYS.acme, prompt);
  const jobG = await create(KEYS.globex, 'globex-private-prompt');
  const batchRes = await h.app.request('/v1/batches', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.acme}` },
    body: batchForm(),
  });
  if (batchRes.status !== 202) throw new Error(`setup: batch create answered ${batchRes.status}`);
  const batchA = ((await batchRes.json()) as { id: string }).id;
  const repo = new JobRepository(h.aws.store);
  const before = await repo.get('acme', jobA);

  // Coverage: documented operations, public allow-list and registered routes must agree.
  const doc = (await (await request('GET', '/openapi.json', null)).json()) as OpenApi;
  const operations: { method: string; path: string }[] = [];
  const documentedPublic: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      const name = `${method.toUpperCase()} ${path}`;
      if (Array.isArray(op.security) && op.security.length === 0) documentedPublic.push(name);
      else operations.push({ method: method.toUpperCase(), path });
    }
  const allowList = new Set<string>(PUBLIC_ROUTES);
  for (const p of documentedPublic)
    if (!allowList.has(p)) failures.push(`${p} is documented as public but not in the public allow-list`);
  const documented = new Set(operations.map((o) => `${o.method} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`));
  const registered = new Set(h.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
  for (const r of registered)
    if (!documented.has(r) && !allowList.has(r))
      failures.push(`${r} is served but neither documented nor allow-listed`);
  for (const r of allowList) if (!registered.has(r)) failures.push(`allow-listed ${r} is not served`);
  for (const o of operations)
    if (!o.path.startsWith('/v1/')) failures.push(`${o.method} ${o.path} needs a key but is outside /v1/`);

  // Strings that must never appear in a response to anyone but their owner.
  const tenantAData = [jobA, batchA, prompt, 'key_acme'];
  const keyMaterial = [...Object.values(KEYS), ...Object.values(KEYS).map(sha), SIGNING_KEY];
  const secretOf = async (keyId: string) => deriveWebhookSecret(SIGNING_KEY, keyId);
  const allSecrets = await Promise.all(['key_acme', 'key_acme2', 'key_globex'].map(secretOf));

  // Batch routes act on tenant A's batch (or, for the "missing" comparison, an unknown batch id).
  const target = (path: string, id: string) =>
    path.replace('{id}', path.startsWith('/v1/batches/') ? (id === jobA ? batchA : newBatchId()) : id);
  const bodyFor = (op: { method: string; path: string }, parent: string) =>
    op.method === 'POST' && op.path === '/v1/jobs'
      ? { prompt: 'follow-up?', parent }
      : op.method === 'POST' && op.path === '/v1/batches'
        ? batchForm()
        : undefined;
  const expected = (op: { method: string; path: string }, p: Principal): number[] => {
    if (p.access === 'denied') return [401];
    const key = `${op.method} ${op.path}`;
    if (key === 'POST /v1/jobs') return p.access === 'other' ? [422] : [409];
    if (key === 'POST /v1/batches') return [202];
    if (op.path.includes('{id}')) return p.access === 'other' ? [404] : [200];
    return [200];
  };

  // Denied and other-tenant principals first, so their attempts (cancel!) can be shown to have changed nothing.
  const ordered = [...principals()].sort((x, y) => rank(x.access) - rank(y.access));
  let checkedUnchanged = false;
  for (const p of ordered) {
    if (!checkedUnchanged && (p.access === 'owner' || p.access === 'tenant')) {
      checkedUnchanged = true;
      const now = await repo.get('acme', jobA);
      if (now?.etag !== before?.etag || now?.job.status !== 'queued')
        failures.push(`tenant A's job changed under denied/other principals: ${now?.job.status}`);
    }
    for (const op of operations) {
      const name = `${op.method} ${op.path}`;
      const res = await request(op.method, target(op.path, jobA), p.header, bodyFor(op, jobA));
      const text = await res.text();
      const why: string[] = [];
      if (!expected(op, p).includes(res.status)) why.push(`status ${res.status}, want ${expected(op, p).join('|')}`);
      if (res.status >= 400) {
        if (res.headers.get('content-type') !== 'application/problem+json') why.push('not problem+json');
        const code = (JSON.parse(text) as { code?: string }).code;
        if (res.status === 401) {
          if (code !== 'unauthorized') why.push(`code ${code}`);
          if (!/^Bearer\b/.test(res.headers.get('www-authenticate') ?? '')) why.push('no WWW-Authenticate: Bearer');
        }
        if (res.status === 404 && code !== 'not_found') why.push(`code ${code}`);
      }
      const own = p.keyId ? await secretOf(p.keyId) : '';
      const leaks = [
        ...keyMaterial,
        ...allSecrets.filter((s) => s !== own),
        ...(p.access === 'owner' || p.access === 'tenant' ? [] : tenantAData),
        ...(p.access === 'other' ? [] : [jobG, 'globex-private-prompt']),
      ].filter((s) => text.includes(s));
      if (leaks.length) why.push(`body reveals ${leaks.length} foreign value(s)`);
      if (p.access === 'other' && (op.path.includes('{id}') || name === 'POST /v1/jobs')) {
        const unknown = await request(op.method, target(op.path, newJobId()), p.header, bodyFor(op, newJobId()));
        const diff = await differences(res, text, unknown);
        if (diff) why.push(`distinguishable from a missing job: ${diff}`);
      }
      if (p.access === 'tenant' && name === 'GET /v1/jobs' && !text.includes(jobA))
        why.push("a second key of the tenant does not see the tenant's jobs");
      if (name === 'GET /v1/webhook-secret' && res.status === 200 && !text.includes(own))
        why.push('webhook secret is not the caller key’s own');
      rows.push({
        op: name,
        principal: p.name,
        access: p.access,
        status: res.status,
        ok: !why.length,
        why: why.join('; '),
      });
    }
  }

  // Auth runs before routing: without a key, unknown paths and methods under /v1 are 401 as well (no route probing).
  for (const [method, path] of [
    ['GET', '/v1/nope'],
    ['DELETE', `/v1/jobs/${jobA}`],
    ['PUT', '/v1/jobs'],
    ['POST', `/v1/jobs/${jobA}`],
  ] as const) {
    const res = await request(method, path, null);
    rows.push({
      op: `${method} ${path.replace(jobA, '{id}')}`,
      principal: 'no Authorization',
      access: 'denied',
      status: res.status,
      ok: res.status === 401,
    });
  }

  // Public routes: no key needed, and nothing of any tenant in the body, with or without a key.
  for (const route of PUBLIC_ROUTES) {
    const [method, path] = route.split(' ') as [string, string];
    for (const p of [null, `Bearer ${KEYS.acme}`]) {
      const res = await request(method, path, p);
      const text = await res.text();
      const leaks = [...keyMaterial, ...allSecrets, jobA, prompt, jobG, 'globex-private-prompt'].filter((s) =>
        text.includes(s),
      );
      rows.push({
        op: route,
        principal: p ? 'owner' : 'no Authorization',
        access: p ? 'owner' : 'denied',
        status: res.status,
        ok: res.status === 200 && leaks.length === 0,
        why: leaks.length ? 'reveals tenant data' : '',
      });
    }
  }

  for (const r of rows) if (!r.ok) failures.push(`${r.op} as ${r.principal}: ${r.why || `status ${r.status}`}`);
  return {
    operations: operations.map((o) => `${o.method} ${o.path}`),
    publicRoutes: [...PUBLIC_ROUTES],
    rows,
    failures,
  };
}

const rank = (a: Access) => ({ denied: 0, other: 1, owner: 2, tenant: 3 })[a];

/** What differs between an other-tenant answer and a missing-job answer (ids masked, request-id ignored). */
async function differences(a: Response, aText: string, b: Response): Promise<string> {
  const bText = await b.text();
  if (a.status !== b.status) return `status ${a.status} vs ${b.status}`;
  const names = (r: Response) =>
    [...r.headers.keys()]
      .filter((k) => k !== 'request-id')
      .sort()
      .join(',');
  if (names(a) !== names(b)) return `headers ${names(a)} vs ${names(b)}`;
  const mask = (t: string) => t.replace(/job_[0-9a-z]{26}/g, 'job_ID');
  if (mask(aText) !== mask(bText)) return `body ${mask(aText)} vs ${mask(bText)}`;
  return '';
}

export function matrixTable(report: MatrixReport): string {
  const lines = [
    '| Operation | denied (17 variants) | owner (4) | same tenant | other tenant |',
    '|---|---|---|---|---|',
  ];
  const ops = [...new Set(report.rows.map((r) => r.op))];
  for (const op of ops) {
    const cell = (access: Access) => {
      const rs = report.rows.filter((r) => r.op === op && r.access === access);
      if (!rs.length) return '–';
      const statuses = [...new Set(rs.map((r) => r.status))].join('/');
      return `${statuses}${rs.every((r) => r.ok) ? ' ✓' : ' ✗'} (${rs.length})`;
    };
    lines.push(`| ${op} | ${cell('denied')} | ${cell('owner')} | ${cell('tenant')} | ${cell('other')} |`);
  }
  return lines.join('\n');
}
