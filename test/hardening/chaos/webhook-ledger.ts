/**
 * Drives the webhook receiver's answer (204, 500, hang, 410) from the fault schedule and records what each verified
 * delivery was answered, so the checks can tell "arrived and accepted" from "arrived during an outage".
 */
import type { WebhookReceiver } from '../../worker/support/harness.ts';

export type ReceiverMode = 204 | 500 | 410 | 'hang';

export interface AnsweredDelivery {
  webhookId: string;
  jobId: string;
  type: string;
  answer: ReceiverMode;
  at: number;
}

export class WebhookLedger {
  mode: ReceiverMode = 204;
  readonly answered: AnsweredDelivery[] = [];

  constructor(readonly receiver: WebhookReceiver) {
    receiver.respond = (d) => {
      const answer = this.mode;
      this.answered.push({ webhookId: d.id, jobId: d.jobId, type: d.type, answer, at: Date.now() });
      return answer;
    };
  }

  get rejected(): number {
    return this.receiver.rejected.length;
  }

  /** True once the delivery of `webhookId` was accepted (2xx) or refused for good (410). */
  settled(webhookId: string): boolean {
    return this.answered.some((d) => d.webhookId === webhookId && (d.answer === 204 || d.answer === 410));
  }
}
