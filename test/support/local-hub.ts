/**
 * A loopback server that answers the Hugging Face Hub routes `@huggingface/hub` uses to pull a model repository,
 * for folders on disk — as the local S3/SQS servers stand in for AWS:
 *
 *   GET /api/models/<owner>/<name>/revision/<rev>        model info (`sha` = the commit, `gated`)
 *   GET /api/models/<owner>/<name>/tree/<rev>[/<path>]   file listing; `?recursive=true`, paged through `Link`
 *   GET /<owner>/<name>/resolve/<rev>/<path>             plain files directly; LFS files by a 302 to
 *   GET /cdn-lfs/<sha256>                                the content store, as the Hub redirects to its CDN
 *
 * File content honours `Range` (206 + Content-Range). Like the Hub, a missing repository answers 401 (so names of
 * private ones do not leak), a gated one lists its files freely but refuses downloads without an accepted token
 * (401, `X-Error-Code: GatedRepo`), and a token it does not know is refused everywhere. Faults can be injected per
 * file: a connection cut after N bytes, a stall after N bytes (for an interrupted pull), or a corrupted byte.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

export interface HubRepoSpec {
  /** `owner/name` */
  id: string;
  /** folder whose files are the repository's content */
  dir: string;
  gated?: boolean;
}

export interface LocalHubOptions {
  repos: HubRepoSpec[];
  /** tokens the server accepts (they also have access to every gated repository) */
  tokens?: string[];
  /** path prefix of every route, as a mirror under a sub-path would have */
  basePath?: string;
  /** tree entries per page (the Hub's is 1000) */
  pageSize?: number;
}

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status: number;
}

type Fault = { kind: 'cut' | 'stall'; afterBytes: number } | { kind: 'corrupt' };

export interface LocalHub {
  /** the endpoint, as HF_ENDPOINT would name it */
  url: string;
  requests: HubRequest[];
  commitOf(repo: string): string;
  /** Applies a fault to the next `times` content responses of `repo`'s file `path` (probes of 1 byte excepted). */
  fault(repo: string, path: string, fault: Fault, times?: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

interface HostedFile {
  path: string;
  body: Buffer;
  sha256: string;
  /** git blob id of the content (plain files) or of the LFS pointer (LFS files) */
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

interface HostedRepo {
  spec: HubRepoSpec;
  commit: string;
  files: HostedFile[];
  dirs: string[];
}

const LFS_EXT = /\.(bin|safetensors|model|pt|pth|onnx|data|gguf|msgpack|h5)$/;
const gitBlobId = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

function host(spec: HubRepoSpec): HostedRepo {
  const files: HostedFile[] = [];
  const dirs = new Set<string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(spec.dir, p).split(sep).join('/');
      if (statSync(p).isDirectory()) {
        dirs.add(rel);
        walk(p);
        continue;
      }
      const body = readFileSync(p);
      const sha256 = createHash('sha256').update(body).digest('hex');
      if (LFS_EXT.test(name) || body.length > 10_000_000) {
        const pointer = Buffer.from(
          `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${body.length}\n`,
        );
        files.push({
          path: rel,
          body,
          sha256,
          oid: gitBlobId(pointer),
          lfs: { oid: sha256, size: body.length, pointerSize: pointer.length },
        });
      } else {
        files.push({ path: rel, body, sha256, oid: gitBlobId(body) });
      }
    }
  };
  walk(spec.dir);
  const commit = createHash('sha1')
    .update(spec.id)
    .update(files.map((f) => `${f.path}:${f.oid}`).join('\n'))
    .digest('hex');
  return { spec, commit, files, dirs: [...dirs] };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startLocalHub(options: LocalHubOptions): Promise<LocalHub> {
  const repos = new Map(options.repos.map((r) => [r.id, host(r)]));
  const tokens = new Set(options.tokens ?? []);
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const pageSize = options.pageSize ?? 1000;
  const faults = new Map<string, { fault: Fault; times: number }>();
  const requests: HubRequest[] = [];
  const stalled = new Set<ServerResponse>();
  let origin = '';

  /** Sends bytes [start, end) of a file, honouring Range and any fault armed for it. */
  function sendContent(req: IncomingMessage, res: ServerResponse, repo: HostedRepo, f: HostedFile, etag: string) {
    const size = f.body.length;
    let start = 0;
    let end = size;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return 416;
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(size, Number(m[2]) + 1) : size;
      status = 206;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start),
      'accept-ranges': 'bytes',
      etag: `"${etag}"`,
      'x-repo-commit': repo.commit,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end - 1}/${size}` } : {}),
    };
    let body = f.body.subarray(start, end);
    const key = `${repo.spec.id}/${f.path}`;
    const armed = end - start > 1 ? faults.get(key) : undefined;
    if (armed && --armed.times <= 0) faults.delete(key);
    const fault = armed?.fault;
    if (fault?.kind === 'corrupt') {
      body = Buffer.from(body);
      const at = Math.floor(body.length / 2);
      body[at] = body[at]! ^ 0xff;
    }
    res.writeHead(status, headers);
    if (fault?.kind === 'cut' || fault?.kind === 'stall') {
      res.write(body.subarray(0, fault.afterBytes), () => {
        if (fault.kind === 'cut') res.socket?.destroy();
        else stalled.add(res);
      });
      return status;
    }
    res.end(body);
    return status;
  }

  function handle(req: IncomingMessage, res: ServerResponse): number {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    if (!url.pathname.startsWith(`${base}/`)) {
      json(res, 404, { error: 'Not Found' });
      return 404;
    }
    const path = url.pathname.slice(base.length);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (auth && (!token || !tokens.has(token))) {
      json(res, 401, { error: 'Invalid credentials in Authorization header' });
      return 401;
    }
    if (path.startsWith('/cdn-lfs/')) {
      const sha = path.slice('/cdn-lfs/'.length);
      for (const repo of repos.values()) {
        const f = repo.files.find((x) => x.lfs?.oid === sha);
        if (f) return sendContent(req, res, repo, f, sha);
      }
      json(res, 404, { error: 'Not Found' });
      return 404;
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? resolve?.[1];
    const repo = repoId ? repos.get(repoId) : undefined;
    if (!repoId || !repo) {
      json(res, 401, { error: 'Repository Not Found for url: ' + url.pathname }, { 'x-error-code': 'RepoNotFound' });
      return 401;
    }
    const rev = decodeURIComponent((api?.[3] ?? resolve?.[2])!);
    if (rev !== 'main' && rev !== 'HEAD' && rev !== repo.commit) {
      json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'x-error-code': 'RevisionNotFound' });
      return 404;
    }
    if (api?.[2] === 'revision') {
      json(res, 200, {
        _id: createHash('sha1').update(repo.spec.id).digest('hex').slice(0, 24),
        id: repo.spec.id,
        private: false,
        gated: repo.spec.gated ? 'manual' : false,
        downloads: 0,
        likes: 0,
        lastModified: '2024-01-01T00:00:00.000Z',
        pipeline_tag: 'image-text-to-text',
        sha: repo.commit,
      });
      return 200;
    }
    if (api?.[2] === 'tree') {
      const under = api[4] ? `${decodeURIComponent(api[4]).replace(/\/+$/, '')}/` : '';
      const recursive = url.searchParams.get('recursive') === 'true';
      const within = (p: string) => p.startsWith(under) && (recursive || !p.slice(under.length).includes('/'));
      const entries = [
        ...repo.dirs
          .filter(within)
          .map((d) => ({ type: 'directory', oid: gitBlobId(Buffer.from(d)), size: 0, path: d })),
        ...repo.files
          .filter((f) => within(f.path))
          .map((f) => ({
            type: 'file',
            oid: f.oid,
            size: f.body.length,
            path: f.path,
            ...(f.lfs ? { lfs: f.lfs } : {}),
          })),
      ].sort((a, b) => a.path.localeCompare(b.path));
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = {};
      if (cursor + pageSize < entries.length) {
        const next = new URL(`${origin}${url.pathname}${url.search}`);
        next.searchParams.set('cursor', String(cursor + pageSize));
        headers.link = `<${next.href}>; rel="next"`;
      }
      json(res, 200, page, headers);
      return 200;
    }
    const file = repo.files.find((f) => f.path === decodeURIComponent(resolve![3]!));
    if (!file) {
      json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      return 404;
    }
    if (repo.spec.gated && !token) {
      json(
        res,
        401,
        {
          error: `Access to model ${repo.spec.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        },
        { 'x-error-code': 'GatedRepo' },
      );
      return 401;
    }
    if (file.lfs) {
      res.writeHead(302, {
        location: `${origin}/cdn-lfs/${file.lfs.oid}`,
        'x-linked-size': String(file.lfs.size),
        'x-linked-etag': `"${file.lfs.oid}"`,
        'x-repo-commit': repo.commit,
      });
      res.end();
      return 302;
    }
    return sendContent(req, res, repo, file, file.oid);
  }

  const server = createServer((req, res) => {
    const status = handle(req, res);
    requests.push({
      method: req.method ?? 'GET',
      path: req.url ?? '',
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      status,
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}`;
  return {
    url: origin,
    requests,
    commitOf: (id) => repos.get(id)!.commit,
    fault(repo, path, fault, times = 1) {
      faults.set(`${repo}/${path}`, { fault, times });
    },
    clearFaults: () => faults.clear(),
    async close() {
      for (const res of stalled) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
