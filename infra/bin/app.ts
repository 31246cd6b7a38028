/**
 * CDK app: `npx cdk synth --app 'tsx infra/bin/app.ts'` (or just `tsx infra/bin/app.ts`, which writes cdk.out/).
 * Settings come from context: `-c stage=prod -c workerImage=<uri> -c minWorkers=1`; see infra/lib/config.ts.
 */
import { App } from 'aws-cdk-lib';
import { configFromContext } from '../lib/config.ts';
import { YiVlStack } from '../lib/yi-vl-stack.ts';

const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
const config = configFromContext((key) => app.node.tryGetContext(key));
new YiVlStack(app, `${config.stage}-stack`, {
  config,
  description: 'Yi-VL async image analysis: S3 + SQS, edge on Lambda, GPU workers on ECS',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
