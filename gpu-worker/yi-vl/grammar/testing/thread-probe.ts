// Runs inside a worker_thread (as the model thread does): loads XGrammar, compiles a schema over the Yi vocabulary
// and walks one document with the first allowed token at each step; posts the text back.
import { parentPort } from 'node:worker_threads';
import { loadYiTokenizer } from '../../tokenizer/yi-tokenizer.ts';
import { GrammarCache } from '../compiled-grammars.ts';
import { GrammarConstraint, isAllowed } from '../matcher.ts';

const { tokenizer } = loadYiTokenizer();
const cache = await GrammarCache.create(tokenizer);
const grammar = await cache.get({
  type: 'json_schema',
  json_schema: { name: 'probe', schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } },
});
const constraint = await GrammarConstraint.create(grammar);
const ids: number[] = [];
for (let step = 0; step < 64; step++) {
  const mask = await constraint.fillMask();
  let id = 0;
  while (!isAllowed(mask, id)) id++;
  if (constraint.accept(id)) break;
  ids.push(id);
}
parentPort!.postMessage({ text: tokenizer.decode(ids), terminated: constraint.isTerminated() });
