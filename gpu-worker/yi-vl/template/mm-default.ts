// Yi-VL's `mm_default` conversation template (spec §8): SINGLE separator style, sep "###", the image placeholder at
// the start of the first human turn, previous answers stored stripped.
import { InputInvalidError } from '../../analyzer-errors.ts';

export const SYSTEM_PROMPT =
  "This is a chat between an inquisitive human and an AI assistant. Assume the role of the AI assistant. Read all the images carefully, and respond to the human's questions with informative, helpful, detailed and polite answers. 这是一个好奇的人类和一个人工智能助手之间的对话。假设你扮演这个AI助手的角色。仔细阅读所有的图像，并对人类的问题做出信息丰富、有帮助、详细的和礼貌的回答。";

import { IMAGE_PLACEHOLDER } from '../../../shared/schemas/job.ts';

export { IMAGE_PLACEHOLDER };
export const SEPARATOR = '###';
export const ROLES = { human: 'Human', assistant: 'Assistant' } as const;

export interface Turn {
  question: string;
  answer: string;
}

export interface Conversation {
  /** The question to answer now. */
  question: string;
  /** Earlier rounds on the same image, oldest first. The image belongs to the first human turn. */
  history?: readonly Turn[];
}

/** The conversation cannot be rendered (a question holds the image placeholder): a bad input, never retried. */
export class TemplateError extends InputInvalidError {
  override name = 'TemplateError';
}

/** Renders the full prompt string, ending with "### Assistant:" (the slot the model completes). */
export function renderPrompt(conv: Conversation): string {
  const messages: [string, string | null][] = [];
  const rounds = [...(conv.history ?? []), { question: conv.question, answer: null }];
  rounds.forEach((r, i) => {
    if (r.question.includes(IMAGE_PLACEHOLDER)) {
      throw new TemplateError(`a question may not contain the literal ${IMAGE_PLACEHOLDER}`);
    }
    messages.push([ROLES.human, i === 0 ? `${IMAGE_PLACEHOLDER}\n${r.question}` : r.question]);
    messages.push([ROLES.assistant, r.answer === null ? null : r.answer.trim()]);
  });
  let out = `${SYSTEM_PROMPT}\n\n${SEPARATOR} `;
  for (const [role, message] of messages) {
    out += message ? `${role}: ${message}\n${SEPARATOR} ` : `${role}:`;
  }
  return out;
}
