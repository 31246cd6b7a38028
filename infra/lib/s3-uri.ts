/** `s3://bucket/prefix` → bucket and key prefix (no leading slash; a trailing slash unless empty). No dependencies:
 * the worker image's model puller uses it too. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!match?.[1]) throw new Error(`expected s3://bucket/prefix/, got ${uri}`);
  const rest = (match[2] ?? '').replace(/^\/+/, '');
  return { bucket: match[1], prefix: rest === '' || rest.endsWith('/') ? rest : `${rest}/` };
}
