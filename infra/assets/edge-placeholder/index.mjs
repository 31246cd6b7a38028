// Stand-in deployed when the edge bundle was not built (npm run build:edge writes dist/edge-lambda).
export const handler = async () => ({
  statusCode: 503,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({
    type: 'about:blank',
    title: 'Edge not deployed',
    status: 503,
    detail: 'This deployment carries the placeholder edge; build it and deploy again.',
  }),
});
