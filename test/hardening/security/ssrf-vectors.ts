/**
 * SSRF vectors: URLs that must never make the edge or the worker open a connection. `port` is the canary's port, so
 * any loopback bypass lands on the canary; non-loopback private targets are unreachable here and are caught by the
 * status code (a refusal is immediate, a connect attempt would time out or fail as `image_fetch_failed`).
 */
export type VectorKind = 'literal' | 'encoding' | 'dns' | 'userinfo' | 'scheme' | 'redirect';

export interface Vector {
  kind: VectorKind;
  name: string;
  url: string;
}

export function directVectors(port: number): Vector[] {
  const v = (kind: VectorKind, name: string, url: string): Vector => ({ kind, name, url });
  return [
    v('literal', '10/8', 'http://10.0.0.1/'),
    v('literal', '172.16/12 low', 'http://172.16.0.1/'),
    v('literal', '172.16/12 high', 'http://172.31.255.254/'),
    v('literal', '192.168/16', 'http://192.168.1.1/'),
    v('literal', '127/8', `http://127.0.0.1:${port}/`),
    v('literal', '127/8 other', `http://127.0.0.2:${port}/`),
    v('literal', '0.0.0.0', `http://0.0.0.0:${port}/`),
    v('literal', '100.64/10 CGNAT', 'http://100.64.0.1/'),
    v('literal', 'metadata 169.254.169.254', 'http://169.254.169.254/latest/meta-data/iam/'),
    v('literal', 'broadcast', 'http://255.255.255.255/'),
    v('literal', 'multicast', 'http://224.0.0.1/'),
    v('literal', 'fd00::/8 ULA', 'http://[fd00::1]/'),
    v('literal', 'fe80:: link-local', 'http://[fe80::1]/'),
    v('literal', 'metadata IPv6 (AWS)', 'http://[fd00:ec2::254]/'),
    v('literal', '[::1]', `http://[::1]:${port}/`),
    v('literal', '[::]', `http://[::]:${port}/`),
    v('literal', 'IPv4-mapped [::ffff:127.0.0.1]', `http://[::ffff:127.0.0.1]:${port}/`),
    v('literal', 'IPv4-mapped hex [::ffff:7f00:1]', `http://[::ffff:7f00:1]:${port}/`),
    v('literal', 'IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/'),
    v('literal', 'IPv4-compatible [::127.0.0.1]', `http://[::127.0.0.1]:${port}/`),
    v('literal', 'NAT64 [64:ff9b::7f00:1]', `http://[64:ff9b::7f00:1]:${port}/`),
    v('literal', '6to4 embedding 127.0.0.1', `http://[2002:7f00:1::]:${port}/`),
    v('literal', '6to4 embedding 10.0.0.1', 'http://[2002:a00:1::1]/'),
    v('literal', 'Teredo', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/'),
    v('literal', 'https [::1]', `https://[::1]:${port}/`),
    v('encoding', 'integer 2130706433', `http://2130706433:${port}/`),
    v('encoding', 'hex 0x7f000001', `http://0x7f000001:${port}/`),
    v('encoding', 'octal 0177.0.0.1', `http://0177.0.0.1:${port}/`),
    v('encoding', 'short 127.1', `http://127.1:${port}/`),
    v('encoding', 'mixed 0x7f.1', `http://0x7f.1:${port}/`),
    v('encoding', 'zero 0', `http://0:${port}/`),
    v('encoding', 'trailing dot 127.0.0.2.', `http://127.0.0.2.:${port}/`),
    v('encoding', 'percent-encoded host', `http://%31%32%37.0.0.2:${port}/`),
    v('encoding', 'full-width digits', `http://１２７.０.０.２:${port}/`),
    v('encoding', 'localhost', `http://localhost:${port}/`),
    v('encoding', 'LOCALHOST.', `http://LOCALHOST.:${port}/`),
    v('userinfo', 'public@127.0.0.1', `http://public@127.0.0.1:${port}/`),
    v('userinfo', 'example.com@127.0.0.2', `http://example.com@127.0.0.2:${port}/`),
    v('userinfo', 'user:pass@public', 'http://user:pass@example.com/'),
    v('userinfo', 'fragment trick', `http://127.0.0.2:${port}#@example.com/`),
    v('scheme', 'file:', 'file:///etc/passwd'),
    v('scheme', 'gopher:', `gopher://127.0.0.1:${port}/_GET%20/`),
    v('scheme', 'ftp:', `ftp://127.0.0.1:${port}/x`),
    v('scheme', 'dict:', `dict://127.0.0.1:${port}/info`),
    v('scheme', 'ws:', `ws://127.0.0.1:${port}/`),
    v('scheme', 'relative URL', '/etc/passwd'),
    ...dnsVectors(port),
  ];
}

export function dnsVectors(port: number): Vector[] {
  return [
    'internal.example.test',
    'loop6.example.test',
    'loop4.example.test',
    'metadata.example.test',
    'mapped.example.test',
    'ula.example.test',
    'cgnat.example.test',
    'mixed.example.test',
    'mixed6.example.test',
    'LOOP4.EXAMPLE.TEST.',
  ].map((host) => ({ kind: 'dns', name: `DNS ${host}`, url: `http://${host}:${port}/` }));
}

/** Redirect chains through the allowed redirector; only `image_url` fetches follow redirects (webhooks never do). */
export function redirectVectors(redirector: string, port: number): Vector[] {
  const to = (u: string, s = 302) => `${redirector}/to?s=${s}&u=${encodeURIComponent(u)}`;
  const v = (name: string, url: string): Vector => ({ kind: 'redirect', name, url });
  return [
    v('302 → [::1]', to(`http://[::1]:${port}/`)),
    v('302 → localhost', to(`http://localhost:${port}/`)),
    v('302 → 169.254.169.254', to('http://169.254.169.254/latest/meta-data/')),
    v('302 → 10.0.0.1', to('http://10.0.0.1/')),
    v('301 → 127.0.0.2', to(`http://127.0.0.2:${port}/`, 301)),
    v('303 → 127.0.0.1', to(`http://127.0.0.1:${port}/`, 303)),
    v('307 → [::ffff:127.0.0.1]', to(`http://[::ffff:127.0.0.1]:${port}/`, 307)),
    v('308 → 2130706433', to(`http://2130706433:${port}/`, 308)),
    v('302 → DNS name of 127.0.0.2', to(`http://loop4.example.test:${port}/`)),
    v('302 → scheme-relative //[::1]', to(`//[::1]:${port}/`)),
    v('302 → file:', to('file:///etc/passwd')),
    v('302 → 302 → [::1]', to(to(`http://[::1]:${port}/`))),
  ];
}
