// The contract's one error shape (docs/API.md, Conventions), over HTTP and in socket acks alike.

/** Every code a client may see; core/errors.ts gives each its HTTP status. */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'range_not_satisfiable'
  | 'rate_limited'
  | 'internal'
  | 'overloaded';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** What every socket ack carries: success with a payload, or the error shape. */
export type AckReply<T extends object = object> = ({ ok: true } & T) | ({ ok: false } & ErrorBody);
