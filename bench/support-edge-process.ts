/**
 * The Node edge in a process of its own for `npm run bench:edge`, so that its CPU time is the edge's alone (the
 * load generator and the S3/SQS servers run elsewhere). Configured from its environment like `npm run edge`; prints
 * `{"url": …}` as one line, then answers each IPC message "cpu" with its process.cpuUsage() (all threads: the event
 * loop and libvips' pool).
 */
import { startEdgeServer } from '../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../edge/config.ts';

const server = await startEdgeServer(parseEdgeConfig(process.env));
console.log(JSON.stringify({ url: server.url }));
process.on('message', (msg) => {
  if (msg === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
