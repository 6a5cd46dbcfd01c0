// Standard Webhooks signing: `whsec_` secrets, and `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` signatures.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new secret: 32 random bytes, base64, after the `whsec_` prefix the Standard Webhooks libraries strip. */
export const newWebhookSecret = (): string => `${PREFIX}${randomBytes(32).toString('base64')}`;

/** The message id of a delivery, sent as webhook-id on every try of it. */
export const deliveryIdFrom = (id: string): string => `msg_${id}`;

/** The webhook-signature header of one try: the id, the try's Unix time in seconds and the exact body, signed. */
export function webhookSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64')}`;
}
