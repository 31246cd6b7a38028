/** Renders an API error (RFC 9457 problem+json) for a terminal: status, title, detail, code and the field errors. */

interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

/** `requests[12].custom_id` → `line 12, custom_id`: a batch file's errors name 1-based lines. */
export function errorLocation(path: string): string {
  const line = /^requests\[(\d+)\](?:\.(.+))?$/.exec(path);
  if (!line) return path;
  return line[2] ? `line ${line[1]}, ${line[2]}` : `line ${line[1]}`;
}

export async function problemText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as Problem;
    const fields = (p.errors ?? []).map((e) => `\n  ${errorLocation(e.path)}: ${e.message}`).join('');
    return `${res.status} ${p.title ?? ''}${p.detail ? ` — ${p.detail}` : ''}${p.code ? ` [${p.code}]` : ''}${fields}`;
  } catch {
    return `${res.status} ${text.slice(0, 200)}`;
  }
}
