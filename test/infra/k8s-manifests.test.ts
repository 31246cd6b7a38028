// Kubernetes manifests for the worker, checked offline against the Kubernetes and KEDA OpenAPI schemas bundled in
// kubernetes-models / @kubernetes-models/keda, then for the properties the deployment relies on.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { workerEnvSchema } from '../../gpu-worker/config.ts';
import { modelPullEnvSchema } from '../../infra/docker/pull-model.ts';

const DIR = join(import.meta.dirname, '../../infra/k8s');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}

type Validator = (doc: Manifest) => void;
const validators: Record<string, Validator> = {
  'v1/ServiceAccount': (d) => new ServiceAccount(d as never).validate(),
  'v1/ConfigMap': (d) => new ConfigMap(d as never).validate(),
  'apps/v1/Deployment': (d) => new Deployment(d as never).validate(),
  'keda.sh/v1alpha1/ScaledObject': (d) => new ScaledObject(d as never).validate(),
  'keda.sh/v1alpha1/TriggerAuthentication': (d) => new TriggerAuthentication(d as never).validate(),
};

function load(): Manifest[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((doc) => {
        assert.deepEqual(doc.errors, [], `${f}: YAML errors`);
        return doc.toJS() as Manifest;
      }),
    );
}
const manifests = load();
const find = (kind: string) => {
  const m = manifests.find((x) => x.kind === kind);
  assert.ok(m, `no ${kind}`);
  return m;
};

// Typed views of the parts checked below.
interface Probe {
  httpGet?: { path: string; port: string | number };
  failureThreshold?: number;
  periodSeconds?: number;
}
interface Container {
  image: string;
  resources: { requests: Record<string, unknown>; limits: Record<string, unknown> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  securityContext?: { allowPrivilegeEscalation?: boolean };
  ports?: { name: string; containerPort: number }[];
}
interface PodSpec {
  serviceAccountName: string;
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}
const podSpec = () => (find('Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const configData = () => (find('ConfigMap') as unknown as { data: Record<string, string> }).data;

describe('infra/k8s manifests', () => {
  test('every document passes its Kubernetes / KEDA schema', () => {
    assert.ok(manifests.length >= 5);
    for (const m of manifests) {
      const validate = validators[`${m.apiVersion}/${m.kind}`];
      assert.ok(validate, `no schema for ${m.apiVersion} ${m.kind}`);
      validate(m);
    }
  });

  test('the schema check catches a malformed Deployment', () => {
    const bad = structuredClone(find('Deployment')) as unknown as { spec: { template: { spec: PodSpec } } };
    (bad.spec.template.spec as unknown as Record<string, unknown>).terminationGracePeriodSeconds = 'long';
    assert.throws(() => validators['apps/v1/Deployment']!(bad as unknown as Manifest));
    const noTarget = structuredClone(find('ScaledObject')) as Manifest & { spec: Record<string, unknown> };
    delete noTarget.spec.scaleTargetRef;
    assert.throws(() => validators['keda.sh/v1alpha1/ScaledObject']!(noTarget));
  });

  test('worker pod: one GPU, probes on /healthz, non-root, grace period above the longest job', () => {
    const spec = podSpec();
    const [worker] = spec.containers;
    assert.ok(worker);
    assert.equal(String(worker.resources.limits['nvidia.com/gpu']), '1');
    for (const probe of [worker.livenessProbe, worker.readinessProbe, worker.startupProbe]) {
      assert.equal(probe?.httpGet?.path, '/healthz');
    }
    const port = worker.ports?.find((p) => p.name === worker.livenessProbe?.httpGet?.port)?.containerPort;
    assert.equal(String(port), configData().METRICS_PORT);
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.notEqual(spec.securityContext.runAsUser, 0);
    assert.equal(worker.securityContext?.allowPrivilegeEscalation, false);
    const run = Number(configData().RUN_TIMEOUT_SECONDS);
    const grace = Number(configData().SHUTDOWN_GRACE_SECONDS);
    assert.ok(grace > run, 'SHUTDOWN_GRACE_SECONDS must exceed RUN_TIMEOUT_SECONDS');
    assert.ok(
      spec.terminationGracePeriodSeconds > grace,
      'terminationGracePeriodSeconds must exceed the shutdown grace',
    );
    // The startup probe must allow for the model pull before liveness can kill the pod.
    const startup = worker.startupProbe!;
    assert.ok((startup.failureThreshold ?? 3) * (startup.periodSeconds ?? 10) >= 600);
  });

  test('the worker reads its config from the ConfigMap and the signing key from a Secret', () => {
    const [worker] = podSpec().containers;
    assert.equal(worker?.envFrom?.[0]?.configMapRef?.name, find('ConfigMap').metadata.name);
    const key = worker?.env?.find((e) => e.name === 'WEBHOOK_SIGNING_KEY');
    assert.equal(key?.valueFrom?.secretKeyRef?.key, 'WEBHOOK_SIGNING_KEY');
    assert.equal(configData().WEBHOOK_SIGNING_KEY, undefined);
    assert.equal(podSpec().serviceAccountName, find('ServiceAccount').metadata.name);
  });

  test('the ConfigMap plus the secret is a valid worker environment (gpu-worker/config.ts)', () => {
    const env = { ...configData(), WEBHOOK_SIGNING_KEY: 'k'.repeat(64) };
    const res = workerEnvSchema.safeParse(env);
    assert.ok(res.success, JSON.stringify(res.error?.issues));
    // Every key is one the worker or the model puller knows, so a typo does not pass silently.
    const known = new Set([...Object.keys(workerEnvSchema.shape), ...Object.keys(modelPullEnvSchema.shape)]);
    const pull = modelPullEnvSchema.safeParse(configData());
    assert.ok(pull.success, JSON.stringify(pull.error?.issues));
    assert.deepEqual(
      Object.keys(configData()).filter((k) => !known.has(k)),
      [],
    );
  });

  test('KEDA scales the Deployment on the job queue and the batch queue, from zero, counting in-flight jobs', () => {
    const so = find('ScaledObject') as unknown as {
      spec: {
        advanced: { scalingModifiers: { formula: string; target: string } };
        scaleTargetRef: { name: string };
        minReplicaCount: number;
        maxReplicaCount: number;
        triggers: {
          name: string;
          type: string;
          metadata: Record<string, string>;
          authenticationRef: { name: string };
        }[];
      };
    };
    // The two backlogs are summed into one metric (KEDA alone would take the larger trigger's replica count).
    const names = so.spec.triggers.map((t) => t.name);
    assert.deepEqual(
      so.spec.advanced.scalingModifiers.formula
        .split('+')
        .map((n) => n.trim())
        .sort(),
      [...names].sort(),
    );
    assert.ok(Number(so.spec.advanced.scalingModifiers.target) >= 1);
    assert.equal(so.spec.scaleTargetRef.name, find('Deployment').metadata.name);
    assert.equal(so.spec.minReplicaCount, 0);
    assert.ok(so.spec.maxReplicaCount >= 1);
    assert.deepEqual(
      so.spec.triggers.map((t) => t.metadata.queueURL),
      [configData().JOB_QUEUE_URL, configData().BATCH_QUEUE_URL],
    );
    for (const trigger of so.spec.triggers) {
      assert.equal(trigger.type, 'aws-sqs-queue');
      assert.equal(trigger.metadata.scaleOnInFlight, 'true');
      assert.equal(trigger.metadata.awsRegion, configData().AWS_REGION);
      assert.equal(trigger.authenticationRef.name, find('TriggerAuthentication').metadata.name);
      assert.ok(Number(trigger.metadata.queueLength) >= 1);
    }
  });

  test('kustomization lists every manifest file', () => {
    const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as {
      resources: string[];
    };
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });
});
