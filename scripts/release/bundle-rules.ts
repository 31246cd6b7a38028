/**
 * Source rewrites that make bundled modules find their files: each module that locates something through
 * `import.meta.url` gets an explicit rule, and the build fails if any other bundled module uses `import.meta`.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Plugin } from 'esbuild';
import { ENTRIES, REPO_ROOT } from './layout.ts';

interface Rewrite {
  file: string;
  from: string;
  to: string;
}
const shareUrl = (file: string) => `new URL(${JSON.stringify(`../share/${file}`)}, import.meta.url).href`;
const REWRITES: Rewrite[] = [
  // The thread runs the compiled lib/model-thread.mjs, beside every bundle and chunk.
  {
    file: 'gpu-worker/yi-vl/pipeline/analyzer.ts',
    from: "new URL('./model-thread.ts', import.meta.url)",
    to: "new URL('./model-thread.mjs', import.meta.url)",
  },
  // A literal specifier, so that esbuild bundles the pipeline (it stays a lazily loaded chunk).
  {
    file: 'gpu-worker/main.ts',
    from: 'await import(PIPELINE_MODULE)',
    to: "await import('./yi-vl/pipeline/analyzer.ts')",
  },
  ...[
    'gpu-worker/yi-vl/tokenizer/yi-tokenizer.ts',
    'gpu-worker/yi-vl/checkpoint/tiny.ts',
    'gpu-worker/onnx/proto.ts',
  ].map((file) => ({ file, from: 'import.meta.url', to: shareUrl(file) })),
];
/** Modules whose own `import.meta.url` is right in a bundle: the entries' "am I the main module" checks and the
 * onnxruntime-node lookup (lib/node_modules is found from lib/ as from the repository). */
const IMPORT_META_OK = new Set([
  ...Object.values(ENTRIES),
  'gpu-worker/yi-vl/pipeline/analyzer.ts', // import.meta.resolve('tsx/esm/api'): only under tsx
  'gpu-worker/yi-vl/pipeline/cuda-provider-check.ts',
  // createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar'): from lib/, it finds lib/node_modules (LOADED_PACKAGES)
  'gpu-worker/yi-vl/grammar/xgrammar.ts',
]);

export function releaseRewrites(): Plugin {
  return {
    name: 'release-rewrites',
    setup(b) {
      const byPath = new Map<string, Rewrite[]>();
      for (const r of REWRITES)
        byPath.set(join(REPO_ROOT, r.file), [...(byPath.get(join(REPO_ROOT, r.file)) ?? []), r]);
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        let text = readFileSync(args.path, 'utf8');
        const rules = byPath.get(args.path);
        if (rules) {
          for (const r of rules) {
            if (!text.includes(r.from)) throw new Error(`${r.file}: expected \`${r.from}\` (release rewrite)`);
            text = text.split(r.from).join(r.to);
          }
        } else if (/import\.meta\b/.test(text) && !IMPORT_META_OK.has(relative(REPO_ROOT, args.path))) {
          throw new Error(
            `${relative(REPO_ROOT, args.path)} uses import.meta: add a rule to REWRITES in scripts/release/bundle-rules.ts so the bundle finds its files`,
          );
        }
        return { contents: text, loader: 'ts' };
      });
    },
  };
}
