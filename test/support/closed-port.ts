import { createServer } from 'node:net';

/** An http:// endpoint on loopback where nothing listens (a port taken from the OS and released at once). */
export async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
