/**
 * The local stack — the README's main command (`npm start`): embedded S3- and SQS-compatible servers (data under
 * LOCAL_DATA_DIR), the edge on http://127.0.0.1:$PORT and one Yi-VL worker on the CPU, in one process.
 *
 *   PORT            edge port (8787)
 *   LOCAL_API_KEY   the API key the edge accepts (generated and printed when unset)
 *   LOCAL_DATA_DIR  where objects, the signing key and the default model live (.local)
 *   MODEL           a Hub repository (01-ai/Yi-VL-6B) or a local folder: prepared on first start (pull, convert,
 *                   verify; under LOCAL_DATA_DIR/models), reused afterwards. MODEL_REVISION, MODEL_DTYPE, HF_TOKEN and
 *                   HF_ENDPOINT as for `npm run model -- prepare`
 *   MODEL_DIR       a converted Yi-VL model; neither set: a tiny random-weight model is made once
 *   YI_VL_DEVICE    cpu (default here), auto or cuda
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEdgeServer } from '../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../edge/config.ts';
import { loadWorkerConfig } from '../gpu-worker/config.ts';
import { convertCheckpoint } from '../gpu-worker/converter/convert.ts';
import type { WeightDtype } from '../gpu-worker/converter/model-builder.ts';
import { createAnalyzerFromEnv, startWorker } from '../gpu-worker/main.ts';
import { type ModelSourceEnv, modelSourceEnvSchema } from '../gpu-worker/model-hub/hub-env.ts';
import { parseModelSource } from '../gpu-worker/model-hub/model-source.ts';
import { prepareModel } from '../gpu-worker/model-hub/prepare.ts';
import { pullProgress } from '../gpu-worker/model-hub/progress.ts';
import { makeTinyCheckpoint } from '../gpu-worker/yi-vl/checkpoint/tiny.ts';
import { createS3Client, S3ObjectStore } from '../shared/aws/s3-object-store.ts';
import { createSqsClient, SqsJobQueue } from '../shared/aws/sqs-job-queue.ts';
import { apiKeyEntry, generateApiKey } from '../shared/config/api-keys.ts';
import { ConfigError, envVar, parseEnv } from '../shared/config/env.ts';
import { BatchRecordSchema, isBatchEnded } from '../shared/schemas/batch.ts';
import { JobRecordSchema } from '../shared/schemas/job.ts';
import { encodeBatchIntakeMessage, encodeJobMessage } from '../shared/schemas/queue-message.ts';
import { keys } from '../shared/storage/keys.ts';
import { provisionQueues } from './local-services/provision.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3 } from './local-services/s3-server.ts';
import { startLocalSqs } from './local-services/sqs-server.ts';

const BUCKET = 'yi-vl-local';
const log = (msg: string) => console.log(`[local] ${msg}`);

/** The default model: a tiny random-weight Yi-VL (real architecture, real tokenizer) made and converted once. */
async function ensureTinyModel(dataDir: string): Promise<string> {
  const modelDir = join(dataDir, 'models', 'tiny-random-fp32');
  if (existsSync(join(modelDir, 'manifest.json'))) return modelDir;
  const ckptDir = join(dataDir, 'models', 'tiny-random-checkpoint');
  log('no MODEL_DIR: generating a tiny random-weight Yi-VL checkpoint and converting it (first run only)…');
  makeTinyCheckpoint({ out: ckptDir, preset: 'tiny', dtype: 'bf16', seed: 1 });
  await convertCheckpoint({ checkpoint: ckptDir, out: modelDir, dtype: 'fp32' });
  return modelDir;
}

/** `MODEL=`: a Hub repository or local folder, prepared once (pull → convert → verify) and reused on later starts. */
interface ModelChoice {
  value: string;
  source: ReturnType<typeof parseModelSource>;
  env: ModelSourceEnv;
  dtype: WeightDtype;
  cuda: boolean;
}

/** Reads MODEL and its companions before anything starts, so a bad value is one clear line, not a late failure. */
function readModelChoice(env: NodeJS.ProcessEnv): ModelChoice | null {
  const cfg = parseEnv(modelSourceEnvSchema.extend({ MODEL_DIR: envVar.string('converted model').optional() }), env);
  if (!cfg.MODEL) return null;
  if (cfg.MODEL_DIR)
    throw new ConfigError([
      'MODEL and MODEL_DIR are both set: MODEL_DIR names a converted model, MODEL one to prepare',
    ]);
  let source: ReturnType<typeof parseModelSource>;
  try {
    source = parseModelSource(cfg.MODEL);
  } catch (err) {
    throw new ConfigError([`MODEL: ${(err as Error).message}`]);
  }
  // int4 suits CPUs (the local stack's default device); CUDA gets fp16.
  const cuda = env.YI_VL_DEVICE === 'cuda';
  return { value: cfg.MODEL, source, env: cfg, dtype: cfg.MODEL_DTYPE ?? (cuda ? 'fp16' : 'int4'), cuda };
}

async function prepareChosenModel(choice: ModelChoice, dataDir: string): Promise<{ dir: string; label: string }> {
  const { source, env: cfg, dtype } = choice;
  const t0 = performance.now();
  const prepared = await prepareModel({
    source,
    modelsDir: join(dataDir, 'models'),
    ...(cfg.MODEL_REVISION ? { revision: cfg.MODEL_REVISION } : {}),
    dtype,
    int4Compute: choice.cuda ? 'float16' : 'float32',
    hub: { hubUrl: cfg.HF_ENDPOINT, ...(cfg.HF_TOKEN ? { accessToken: cfg.HF_TOKEN } : {}) },
    onPull: pullProgress(process.stderr),
    log: (line) => log(line),
    reuse: true,
  });
  log(`model ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${prepared.modelDir}`);
  const at = prepared.commit ? ` @ ${prepared.commit.slice(0, 12)}` : '';
  return { dir: prepared.modelDir, label: `${source.kind === 'hub' ? source.repo : choice.value}${at}, ${dtype}` };
}

/** A stable webhook signing key per data dir, so per-key webhook secrets survive restarts. */
function signingKey(dataDir: string): string {
  const file = join(dataDir, 'webhook-signing-key');
  if (!existsSync(file)) writeFileSync(file, generateApiKey(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** Every parsed JSON object under a key prefix, page by page. */
async function* storedRecords(store: S3ObjectStore, prefix: string): AsyncGenerator<unknown> {
  let token: string | undefined;
  do {
    const page = await store.list(prefix, token ? { continuationToken: token } : {});
    for (const item of page.items) {
      const obj = await store.get(item.key);
      if (obj) yield JSON.parse(new TextDecoder().decode(obj.body));
    }
    token = page.continuationToken;
  } while (token);
}

/**
 * The embedded SQS keeps its queues in memory: re-enqueue what a previous run left unfinished — jobs queued or
 * running (a batch's items on the batch queue, the others on the job queue) and the intake of every batch whose
 * intake had not finished (it resumes where the batch record says it stopped).
 */
async function requeueUnfinished(
  store: S3ObjectStore,
  queues: { jobs: SqsJobQueue; batches: SqsJobQueue },
): Promise<{ jobs: number; batches: number }> {
  const requeued = { jobs: 0, batches: 0 };
  for await (const record of storedRecords(store, keys.kindPrefix('jobs'))) {
    const job = JobRecordSchema.safeParse(record);
    if (job.success && (job.data.status === 'queued' || job.data.status === 'running')) {
      await (job.data.batch_id ? queues.batches : queues.jobs).send(encodeJobMessage(job.data.id, job.data.tenant));
      requeued.jobs++;
    }
  }
  for await (const record of storedRecords(store, keys.kindPrefix('batches'))) {
    const batch = BatchRecordSchema.safeParse(record);
    if (batch.success && !batch.data.intake.done && !isBatchEnded(batch.data.status)) {
      await queues.batches.send(encodeBatchIntakeMessage(batch.data.id, batch.data.tenant));
      requeued.batches++;
    }
  }
  return requeued;
}

async function main() {
  const env = process.env;
  const port = Number(env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError([`PORT: must be a port number, got ${env.PORT}`]);
  const dataDir = resolve(env.LOCAL_DATA_DIR ?? '.local');
  mkdirSync(join(dataDir, 's3'), { recursive: true });
  const modelChoice = readModelChoice(env);
  if (modelChoice) {
    const steps =
      modelChoice.source.kind === 'hub'
        ? `pull from ${modelChoice.env.HF_ENDPOINT}, convert, verify`
        : 'convert, verify';
    log(`MODEL=${modelChoice.value} (${modelChoice.dtype}): prepared once (${steps}), reused on later starts`);
  }
  const generatedKey = !env.LOCAL_API_KEY;
  const apiKey = env.LOCAL_API_KEY ?? generateApiKey();

  const s3 = await startLocalS3({ directory: join(dataDir, 's3'), buckets: [BUCKET] });
  const sqs = await startLocalSqs();
  const region = 'us-east-1';
  const sqsClient = createSqsClient({ region, endpoint: sqs.endpoint, credentials: LOCAL_S3_CREDENTIALS });
  const queues = await provisionQueues(sqsClient, undefined, { maxReceiveCount: 5, visibilityTimeoutSeconds: 60 });
  const awsEnv = {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    S3_BUCKET: BUCKET,
    S3_FORCE_PATH_STYLE: 'true',
    S3_CONDITIONAL_WRITES: 'native',
    JOB_QUEUE_URL: queues.jobQueueUrl,
    BATCH_QUEUE_URL: queues.batchQueueUrl,
    WEBHOOK_QUEUE_URL: queues.webhookQueueUrl,
    WEBHOOK_SIGNING_KEY: signingKey(dataDir),
    // Webhook receivers and image URLs on this machine are allowed locally (never in a deployment).
    ALLOW_PRIVATE_TARGETS: '127.0.0.1,localhost,::1',
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  };

  // The edge first: a taken port should fail before minutes of model loading.
  const edgeConfig = parseEdgeConfig({
    ...awsEnv,
    API_KEYS: await apiKeyEntry('local', 'local', apiKey),
    PORT: String(port),
  });
  const edge = await startEdgeServer(edgeConfig);

  if (modelChoice) log(`API listening on ${edge.url}; jobs wait in the queue until the model is ready`);
  const prepared = modelChoice ? await prepareChosenModel(modelChoice, dataDir) : null;
  const modelDir = prepared?.dir ?? (env.MODEL_DIR ? resolve(env.MODEL_DIR) : await ensureTinyModel(dataDir));
  const workerConfig = loadWorkerConfig({
    ...awsEnv,
    JOB_DLQ_URL: queues.jobDlqUrl,
    MAX_RECEIVE_COUNT: '5',
    METRICS_PORT: env.METRICS_PORT ?? '0',
    METRICS_HOST: '127.0.0.1',
    MODEL_DIR: modelDir,
    // Short polls so Ctrl-C stops within seconds (a pending long poll is allowed to finish, see PollLoop.stop).
    RECEIVE_WAIT_SECONDS: '5',
  });
  // The local stack's worker runs on the CPU unless YI_VL_DEVICE says otherwise (auto tries CUDA first).
  const analyzer = await createAnalyzerFromEnv({ YI_VL_DEVICE: 'cpu', ...env, MODEL_DIR: modelDir });
  const worker = await startWorker({ config: workerConfig, analyzer });

  const store = new S3ObjectStore({
    bucket: BUCKET,
    client: createS3Client({ region, endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS }),
  });
  const requeued = await requeueUnfinished(store, {
    jobs: new SqsJobQueue(sqsClient, queues.jobQueueUrl),
    batches: new SqsJobQueue(sqsClient, queues.batchQueueUrl),
  });
  const requeuedLine = [
    requeued.jobs ? `${requeued.jobs} unfinished job(s)` : '',
    requeued.batches ? `the intake of ${requeued.batches} batch(es)` : '',
  ]
    .filter(Boolean)
    .join(' and ');

  const noise = !env.MODEL_DIR && !prepared;
  console.log(`
yi-vl-pipeline local stack
  API       ${edge.url}   (docs: ${edge.url}/docs)
  API key   ${apiKey}${generatedKey ? '   (generated; set LOCAL_API_KEY to keep one)' : ''}
  model     ${modelDir}${prepared ? `   (${prepared.label})` : ''}
  worker    ${analyzer.describe()}  metrics: http://127.0.0.1:${worker.opsPort}/metrics
  data      ${dataDir}   (S3 ${s3.endpoint}, SQS ${sqs.endpoint})${requeuedLine ? `\n  requeued  ${requeuedLine} from the last run` : ''}
${
  noise
    ? `
  !!! No MODEL is set: this is a TINY RANDOM-WEIGHT Yi-VL. The pipeline is real; the answers are NOISE.
  !!! For real answers start with MODEL=01-ai/Yi-VL-6B (a 16 GB download, converted once; README: "Quick start").
`
    : ''
}
Try it:
  curl -s -X POST ${edge.url}/v1/jobs -H "Authorization: Bearer ${apiKey}" \\
       -F image=@photo.jpg -F prompt="What is in this image?"
  curl -s ${edge.url}/v1/jobs/<id> -H "Authorization: Bearer ${apiKey}" -H "Prefer: wait=30"
or:
  YI_VL_API_KEY=${apiKey} PORT=${port} npm run submit -- photo.jpg "What is in this image?"
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping: draining the worker…');
    await worker.stop();
    await edge.close();
    await Promise.allSettled([s3.close(), sqs.close()]);
    sqsClient.destroy();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  const verbose = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace';
  console.error(`[local] could not start: ${err instanceof Error && !verbose ? err.message : String(err)}`);
  if (verbose && err instanceof Error) console.error(err.stack);
  process.exit(1);
});
