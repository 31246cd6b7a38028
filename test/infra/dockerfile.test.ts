// The GPU worker's Dockerfile, checked offline: dockerfile-utils (the validator behind the VS Code Docker language
// server) for syntax and instruction errors, then structural checks of what the image must provide.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DockerfileParser, type ModifiableInstruction } from 'dockerfile-ast';
import { ValidationSeverity, validate } from 'dockerfile-utils';

const ROOT = join(import.meta.dirname, '../..');
const DOCKERFILE = join(ROOT, 'infra/docker/Dockerfile');
const content = readFileSync(DOCKERFILE, 'utf8');
const ignoreRules = readFileSync(join(ROOT, 'infra/docker/Dockerfile.dockerignore'), 'utf8');

const STRICT = Object.fromEntries(
  [
    'deprecatedMaintainer',
    'directiveCasing',
    'emptyContinuationLine',
    'instructionCasing',
    'instructionCmdMultiple',
    'instructionEntrypointMultiple',
    'instructionHealthcheckMultiple',
    'instructionJSONInSingleQuotes',
    'instructionWorkdirRelative',
  ].map((k) => [k, ValidationSeverity.ERROR]),
);

interface Step {
  keyword: string;
  args: string;
  flags: Record<string, string>;
}
interface Stage {
  image: string;
  name?: string;
  steps: Step[];
}

/** Splits the Dockerfile into stages, resolving FROM images through the global ARG defaults. */
function stages(text: string): Stage[] {
  const file = DockerfileParser.parse(text);
  const globals = new Map<string, string>();
  const out: Stage[] = [];
  for (const ins of file.getInstructions()) {
    const keyword = ins.getKeyword();
    const args = (ins.getArgumentsContent() ?? '').replace(/\\\r?\n/g, ' ');
    if (keyword === 'ARG' && out.length === 0) {
      const [name, value = ''] = args.split('=');
      globals.set(name!.trim(), value.trim());
      continue;
    }
    if (keyword === 'FROM') {
      const [image = '', , name] = args.trim().split(/\s+/);
      const resolved = image.replace(/\$\{(\w+)\}/g, (_, v: string) => globals.get(v) ?? '');
      out.push({ image: resolved, name, steps: [] });
      continue;
    }
    // COPY/RUN/HEALTHCHECK flags (--from, --chmod, --interval) are parsed apart from the arguments.
    const withFlags = ins as Partial<ModifiableInstruction>;
    const flags = Object.fromEntries((withFlags.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue() ?? '']));
    out.at(-1)?.steps.push({ keyword, args: args.trim(), flags });
  }
  return out;
}

/** Docker's .dockerignore semantics, reduced to what this file uses: last matching rule wins, `!` re-includes. */
function sentToBuild(path: string, rules: string): boolean {
  const toRegex = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/\/$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '@@ANY_DIRS@@')
        .replace(/\*\*/g, '.*')
        .replace(/\*/g, '[^/]*')
        .replace(/@@ANY_DIRS@@/g, '(?:.*/)?')}(?:/.*)?$`,
    );
  let included = true;
  for (const raw of rules.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (toRegex(negate ? line.slice(1) : line).test(path)) included = negate;
  }
  return included;
}

const all = stages(content);
const final = all.at(-1)!;
const finalSteps = (keyword: string) => final.steps.filter((s) => s.keyword === keyword);

describe('infra/docker/Dockerfile', () => {
  test('passes dockerfile-utils with every rule as an error', () => {
    assert.deepEqual(
      validate(content, STRICT).map((d) => `${d.range.start.line + 1}: ${d.message}`),
      [],
    );
  });

  test('the validator does flag a broken Dockerfile', () => {
    const broken = `${content}\nHEALTHCHECK CMD true\nEXPOSE notaport\nRUN echo \\\n\n  x\n`;
    assert.ok(validate(broken, STRICT).length >= 3);
  });

  test('runtime base is CUDA 12 with cuDNN (9 for CUDA ≥ 12.4 images); the release is built on a Node LTS image', () => {
    assert.match(final.image, /^nvidia\/cuda:12\.(\d+)\.\d+-cudnn-runtime-ubuntu\d/);
    assert.ok(Number(/^nvidia\/cuda:12\.(\d+)/.exec(final.image)![1]) >= 4, 'cuDNN 9 ships with CUDA ≥ 12.4 images');
    const release = all.find((s) => s.name === 'release');
    assert.match(release?.image ?? '', /^node:(20|22|24)[.-]/);
  });

  test('builds the worker release with the official CUDA 12 provider and fails the build without it', () => {
    const run = all.flatMap((s) => s.steps.filter((x) => x.keyword === 'RUN').map((x) => x.args)).join('\n');
    assert.match(run, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(run, /test -f \S*libonnxruntime_providers_cuda\.so/);
    assert.match(run, /test -f \S*libonnxruntime_providers_shared\.so/);
    assert.match(run, /npm ci /);
    assert.match(
      run,
      /npm run release:worker -- --cuda-provider node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64/,
    );
    assert.match(run, /tar -xJf \/dist\/yi-vl-worker-\*-linux-x64-cuda\.tar\.xz -C \/opt\/yi-vl/);
  });

  test('the runtime stage is the unpacked release: no npm, no tsx, no node_modules copied from the repository', () => {
    const copies = finalSteps('COPY');
    assert.ok(copies.some((c) => c.flags.from === 'release' && c.args.startsWith('/opt/yi-vl ')));
    const text = final.steps.map((s) => `${s.keyword} ${s.args}`).join('\n');
    assert.doesNotMatch(text, /\bnpm\b|\bnpx\b|\btsx\b/);
    assert.ok(!copies.some((c) => !c.flags.from && /node_modules|\.ts\b/.test(c.args)), text);
    const [health] = finalSteps('HEALTHCHECK');
    assert.match(health?.args ?? '', /"\/opt\/yi-vl\/runtime\/node"/);
  });

  test('runs as a non-root user with a /healthz health check and the entry script', () => {
    const users = finalSteps('USER');
    assert.ok(users.length > 0, 'no USER in the final stage');
    const user = users.at(-1)!.args.split(':')[0]!;
    assert.ok(user !== '' && user !== 'root' && user !== '0', `runs as ${user}`);
    const [health] = finalSteps('HEALTHCHECK');
    assert.match(health?.args ?? '', /\/healthz/);
    assert.match(health?.args ?? '', /METRICS_PORT/);
    const [entry] = finalSteps('ENTRYPOINT');
    const argv = JSON.parse(entry?.args ?? '[]') as string[];
    assert.equal(argv[0], '/usr/bin/tini');
    const script = argv.at(-1)!;
    assert.ok(finalSteps('COPY').some((c) => c.args.endsWith(` ${script}`) && c.flags.chmod === '0755'));
    const env = finalSteps('ENV')
      .map((e) => e.args)
      .join(' ');
    assert.match(env, /MODEL_DIR=/);
  });

  test('every COPY source exists and is sent by the .dockerignore; tests are not', () => {
    const sources = all
      .flatMap((st) => st.steps)
      .filter((c) => c.keyword === 'COPY' && !c.flags.from)
      .flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    assert.ok(sources.length >= 5);
    for (const src of sources) {
      assert.ok(existsSync(join(ROOT, src)), `${src} missing`);
      assert.ok(sentToBuild(src, ignoreRules), `${src} is excluded by the .dockerignore`);
    }
    assert.ok(!sentToBuild('gpu-worker/runtime/backoff.test.ts', ignoreRules));
    assert.ok(!sentToBuild('node_modules/x/index.js', ignoreRules));
    assert.ok(!sentToBuild('infra/lib/yi-vl-stack.ts', ignoreRules));
    assert.ok(!sentToBuild('.env', ignoreRules));
  });

  test('entry script: valid sh, pulls the model when MODEL_S3_URI is set, execs the worker', () => {
    const path = join(ROOT, 'infra/docker/entrypoint.sh');
    execFileSync('sh', ['-n', path]);
    assert.ok(statSync(path).mode & 0o100, 'entrypoint.sh is not executable');
    const script = readFileSync(path, 'utf8');
    assert.match(script, /MODEL_S3_URI/);
    assert.match(script, /"\$YI_VL_HOME\/bin\/yi-vl-pull-model"/);
    assert.match(script, /^exec "\$YI_VL_HOME\/bin\/yi-vl-worker" "\$@"$/m);
    assert.doesNotMatch(script, /\bnode\b|\btsx\b/);
  });

  test('the commands the entry script runs are commands of the release', async () => {
    const { ENTRIES } = await import('../../scripts/release/build-worker-release.ts');
    assert.ok('yi-vl-worker' in ENTRIES && 'yi-vl-pull-model' in ENTRIES);
    for (const entry of Object.values(ENTRIES)) assert.ok(existsSync(join(ROOT, entry)), entry);
  });
});
