/** Runs the loopback S3/SQS servers in their own process for benchmarks; prints their env as one JSON line. */
import { startLocalAws } from '../test/support/local-aws.ts';

const aws = await startLocalAws();
console.log(JSON.stringify(aws.env));
process.on('SIGTERM', () => {
  void aws.close().then(() => process.exit(0));
});
