import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { IMAGE_PLACEHOLDER, renderPrompt, SYSTEM_PROMPT, TemplateError } from './mm-default.ts';
import { countImageTokens, IMAGE_TOKEN_INDEX, tokenizeWithImage } from './prompt-ids.ts';

describe('mm_default template', () => {
  test('system string: 303 characters, 453 UTF-8 bytes, one ASCII space before the Chinese part', () => {
    assert.equal(SYSTEM_PROMPT.length, 303);
    assert.equal(Buffer.byteLength(SYSTEM_PROMPT, 'utf8'), 453);
    assert.ok(SYSTEM_PROMPT.includes('polite answers. 这是'));
    assert.ok(SYSTEM_PROMPT.includes("human's"));
    assert.ok(SYSTEM_PROMPT.endsWith('礼貌的回答。'));
  });

  test('single turn equals the spec example byte for byte', () => {
    const got = renderPrompt({ question: 'Describe the cats and what they are doing in detail.' });
    const want = `${SYSTEM_PROMPT}\n\n### Human: <image_placeholder>\nDescribe the cats and what they are doing in detail.\n### Assistant:`;
    assert.equal(got, want);
    assert.deepEqual(got.split(IMAGE_PLACEHOLDER), [
      `${SYSTEM_PROMPT}\n\n### Human: `,
      '\nDescribe the cats and what they are doing in detail.\n### Assistant:',
    ]);
  });

  test('multi-turn: image only in the first human turn, previous answers stripped', () => {
    const got = renderPrompt({
      question: 'what are they doing',
      history: [{ question: 'what is in this image', answer: '  cats\n' }],
    });
    const want = `${SYSTEM_PROMPT}\n\n### Human: <image_placeholder>\nwhat is in this image\n### Assistant: cats\n### Human: what are they doing\n### Assistant:`;
    assert.equal(got, want);
  });

  test('three rounds keep order', () => {
    const got = renderPrompt({
      question: 'q3',
      history: [
        { question: 'q1', answer: 'a1' },
        { question: 'q2', answer: 'a2' },
      ],
    });
    assert.ok(
      got.endsWith(
        '### Human: <image_placeholder>\nq1\n### Assistant: a1\n### Human: q2\n### Assistant: a2\n### Human: q3\n### Assistant:',
      ),
    );
  });

  test('a question containing the placeholder is refused', () => {
    assert.throws(() => renderPrompt({ question: `look ${IMAGE_PLACEHOLDER}` }), TemplateError);
  });
});

describe('prompt ids with the image index', () => {
  const { tokenizer } = loadYiTokenizer();
  const vectors = JSON.parse(readFileSync(new URL('../tokenizer/data/vectors.json', import.meta.url), 'utf8')) as {
    vectors: { name: string; text: string; ids_no_bos?: number[]; ids_with_bos?: number[] }[];
  };

  for (const name of ['yi_vl_fragment_image_spliced', 'yi_vl_full_prompt_image_spliced']) {
    test(name, () => {
      const v = vectors.vectors.find((x) => x.name === name)!;
      assert.deepEqual(tokenizeWithImage(tokenizer, v.text), v.ids_no_bos);
      assert.deepEqual(tokenizeWithImage(tokenizer, v.text, { addBos: true }), v.ids_with_bos);
    });
  }

  test('the rendered template tokenises to the spec vector (no BOS, one −200)', () => {
    const v = vectors.vectors.find((x) => x.name === 'yi_vl_full_prompt_image_spliced')!;
    const ids = tokenizeWithImage(tokenizer, renderPrompt({ question: 'What is in the image?' }));
    assert.deepEqual(ids, v.ids_no_bos);
    assert.equal(countImageTokens(ids), 1);
    assert.equal(ids.indexOf(IMAGE_TOKEN_INDEX), ids.length - 12);
  });

  test('chunks are encoded separately: no merge across the placeholder', () => {
    // " <image_placeholder>x": the space before the split stays "▁" (59568) on its own
    const ids = tokenizeWithImage(tokenizer, `Human: ${IMAGE_PLACEHOLDER}Hello`);
    assert.deepEqual(ids.slice(-4), [59601, 59568, -200, 25102]);
    assert.deepEqual(tokenizer.encode('Human: Hello').slice(-2), [59601, 29915], 'joined text would merge "▁Hello"');
  });
});
