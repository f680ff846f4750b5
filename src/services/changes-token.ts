// The `changesToken` of sync: how far a client has seen each conversation's change feed, as per-conversation
// change counters (conversations absent are at 0), bound to one user and signed with HMAC-SHA256. A token that
// was tampered with, made up, or issued to another user is refused as validation_failed, saying nothing more.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { validationFailed } from '../core/errors.js';

const VERSION = 1;
const SIGNATURE_BYTES = 16;
/** A token inflates to at most this much JSON (about 40,000 conversations with changes). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

const payloadSchema = z.object({
  v: z.literal(VERSION),
  u: z.string(),
  c: z.array(z.tuple([z.string().regex(/^[1-9]\d{0,18}$/), z.number().int().min(0)])),
});

export type ChangeCounters = Map<string, number>;

export class ChangesTokens {
  private readonly key: Buffer;

  /** The key is derived from the server secret, so it is never the JWT key itself. */
  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('parley changes token v1').digest();
  }

  issue(userId: string, counters: ChangeCounters): string {
    const c = [...counters].filter(([, seq]) => seq > 0);
    const body = deflateRawSync(Buffer.from(JSON.stringify({ v: VERSION, u: userId, c })));
    return `${body.toString('base64url')}.${this.sign(body).toString('base64url')}`;
  }

  /** The counters of a token issued to `userId`; anything else is a 400. */
  read(userId: string, token: string): ChangeCounters {
    const invalid = () =>
      validationFailed('changesSince is not a token this server issued to you', {
        fields: { changesSince: 'invalid token' },
      });
    const [bodyText, signatureText, extra] = token.split('.');
    if (!bodyText || !signatureText || extra !== undefined) throw invalid();
    const body = Buffer.from(bodyText, 'base64url');
    const signature = Buffer.from(signatureText, 'base64url');
    // Canonical encodings only: base64 decoding ignores stray characters and spare bits, so one token has one spelling.
    const canonical = body.toString('base64url') === bodyText && signature.toString('base64url') === signatureText;
    if (!canonical || signature.length !== SIGNATURE_BYTES || !timingSafeEqual(signature, this.sign(body)))
      throw invalid();
    let payload: z.infer<typeof payloadSchema>;
    try {
      payload = payloadSchema.parse(
        JSON.parse(inflateRawSync(body, { maxOutputLength: MAX_PAYLOAD_BYTES }).toString()),
      );
    } catch {
      throw invalid();
    }
    if (payload.u !== userId) throw invalid();
    return new Map(payload.c);
  }

  private sign(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, SIGNATURE_BYTES);
  }
}
