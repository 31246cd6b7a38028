/** Scans log lines for known secret values and for credential-shaped text; findings show the line redacted. */

export interface Secret {
  label: string;
  value: string;
}

export interface Finding {
  label: string;
  line: string;
}

/** Shapes that should never be logged, whatever their value. */
export const CREDENTIAL_PATTERNS: { label: string; re: RegExp }[] = [
  { label: 'Authorization: Bearer value', re: /\bBearer\s+[\x21-\x7e]{8,}/i },
  { label: 'Authorization: Basic value', re: /\bBasic\s+[A-Za-z0-9+/=]{8,}/ },
  { label: 'presigned URL (X-Amz-Signature)', re: /X-Amz-Signature=/i },
  { label: 'presigned URL (X-Amz-Credential)', re: /X-Amz-Credential=/i },
  { label: 'SigV4 Authorization header', re: /AWS4-HMAC-SHA256\s+Credential=/ },
  { label: 'webhook-signature value', re: /\bv1,[A-Za-z0-9+/]{43}=/ },
  { label: 'whsec_ secret', re: /whsec_[A-Za-z0-9+/]{16,}/ },
];

const MASK = '«redacted»';

export function redact(line: string, secrets: readonly Secret[]): string {
  let out = line;
  for (const s of secrets) out = out.split(s.value).join(MASK);
  for (const p of CREDENTIAL_PATTERNS) out = out.replace(new RegExp(p.re.source, `${p.re.flags}g`), MASK);
  return out.length > 400 ? `${out.slice(0, 400)}…` : out;
}

export function scanLines(lines: readonly string[], secrets: readonly Secret[]): Finding[] {
  const usable = secrets.filter((s) => s.value.length >= 6);
  if (usable.length !== secrets.length) throw new Error('a secret shorter than 6 characters cannot be scanned for');
  const findings: Finding[] = [];
  for (const line of lines) {
    const labels = [
      ...usable.filter((s) => line.includes(s.value)).map((s) => s.label),
      ...CREDENTIAL_PATTERNS.filter((p) => p.re.test(line)).map((p) => p.label),
    ];
    for (const label of new Set(labels)) findings.push({ label, line: redact(line, usable) });
  }
  return findings;
}

/** Splits captured output (chunks of newline-delimited JSON or text) into non-empty lines. */
export function toLines(chunks: readonly string[]): string[] {
  return chunks.flatMap((c) => c.split('\n')).filter((l) => l.trim() !== '');
}

/** A webhook secret in every form it could be printed: `whsec_…` and its bare base64 part. */
export function webhookSecretForms(label: string, whsec: string): Secret[] {
  return [
    { label: `${label} (whsec_)`, value: whsec },
    { label: `${label} (raw base64)`, value: whsec.replace(/^whsec_/, '') },
    { label: `${label} (raw hex)`, value: Buffer.from(whsec.replace(/^whsec_/, ''), 'base64').toString('hex') },
  ];
}
