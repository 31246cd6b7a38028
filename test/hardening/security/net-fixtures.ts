/**
 * Loopback servers for the SSRF checks. A canary listens on the same port on 127.0.0.1, 127.0.0.2 and [::1] (where
 * 0.0.0.0 and [::] connections land too) and records every hit: any hit is a bypass. A redirector on 127.0.0.9 (the
 * only host the checks allow) answers 30x to forbidden targets, serves a real JPEG at /ok.jpg and 204 at /hook, so
 * a positive control proves the refusals are not an unreachable-server artefact.
 */
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import type { Resolver } from '../../../shared/net/ssrf.ts';

export const CANARY_HOSTS = ['127.0.0.1', '127.0.0.2', '::1'] as const;
export const REDIRECTOR_HOST = '127.0.0.9';

export interface Canary {
  port: number;
  hits: string[];
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

const closeAll = (servers: Server[]) =>
  Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  ).then(() => undefined);

export async function startCanary(): Promise<Canary> {
  const hits: string[] = [];
  for (let tries = 0; ; tries++) {
    const servers: Server[] = [];
    try {
      let port = 0;
      for (const host of CANARY_HOSTS) {
        const s = createServer((req, res) => {
          hits.push(`${host} ${req.method} ${req.url}`);
          res.writeHead(200, { 'content-type': 'image/jpeg' }).end('canary');
        });
        try {
          port = await listen(s, port, host);
          servers.push(s);
        } catch (err) {
          // A host without IPv6 loopback: the [::1] vectors are still refused, just without a canary there.
          if (host === '::1' && (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') continue;
          throw err;
        }
      }
      return { port, hits, close: () => closeAll(servers) };
    } catch (err) {
      await closeAll(servers.filter((s) => s.listening));
      if (tries >= 5) throw err;
    }
  }
}

export interface Redirector {
  base: string;
  hits: string[];
  close(): Promise<void>;
}

/** `GET|POST /to?u=<url>&s=<status>` answers `s` (default 302) with `Location: u`. */
export async function startRedirector(image: Uint8Array): Promise<Redirector> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/to') {
      res.writeHead(Number(url.searchParams.get('s') ?? 302), { location: url.searchParams.get('u') ?? '/' }).end();
    } else if (url.pathname === '/ok.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
    } else if (url.pathname === '/hook') {
      res.writeHead(204).end();
    } else res.writeHead(404).end();
  });
  const port = await listen(server, 0, REDIRECTOR_HOST);
  return { base: `http://${REDIRECTOR_HOST}:${port}`, hits, close: () => closeAll([server]) };
}

/** Test DNS: names under `.example.test` answer from this table; localhost goes to the system resolver (/etc/hosts). */
export const FAKE_DNS: Record<string, { address: string; family: number }[]> = {
  'internal.example.test': [{ address: '10.0.0.5', family: 4 }],
  'loop6.example.test': [{ address: '::1', family: 6 }],
  'loop4.example.test': [{ address: '127.0.0.2', family: 4 }],
  'metadata.example.test': [{ address: '169.254.169.254', family: 4 }],
  'mapped.example.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'ula.example.test': [{ address: 'fd00::5', family: 6 }],
  'cgnat.example.test': [{ address: '100.64.0.7', family: 4 }],
  'mixed.example.test': [
    { address: '93.184.216.34', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
  'mixed6.example.test': [
    { address: '2606:4700:4700::1111', family: 6 },
    { address: '::1', family: 6 },
  ],
};

/** How often `rebind.example.test` was resolved: its first answer is the allowed redirector, later ones a canary. */
export const rebinding = { lookups: 0 };

export const fakeResolver: Resolver = async (host) => {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'rebind.example.test')
    return [{ address: rebinding.lookups++ === 0 ? REDIRECTOR_HOST : '127.0.0.2', family: 4 }];
  if (isIP(h)) return [{ address: h, family: isIP(h) }];
  const answer = FAKE_DNS[h];
  if (answer) return answer;
  if (h === 'localhost') return lookup('localhost', { all: true, verbatim: true });
  throw new Error(`no test DNS entry for ${host}`);
};
