/**
 * The errors `LexeconClient` throws. A server answer that is an error is a {@link LexeconApiError}
 * (carrying the server's envelope); no answer at all after the retries is a {@link LexeconUnavailableError}.
 * The caller's own `AbortSignal` throws its reason, neither of these.
 */

/** The server answered with an error status: its envelope `{"error":{code,message,details},"request_id"}`. */
export class LexeconApiError extends Error {
  override readonly name = 'LexeconApiError';
  /** The HTTP status. */
  readonly status: number;
  /** The envelope's code (e.g. `UNAUTHORIZED`, `VALIDATION_ERROR`), or `HTTP_<status>` for an answer without one. */
  readonly code: string;
  readonly details: unknown;
  /** The server's request id (to find the request in its log), when it sent one. */
  readonly requestId: string | undefined;

  constructor(status: number, code: string, message: string, details: unknown, requestId: string | undefined) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }

  /** The error of an answer: its envelope when it has one, else `HTTP_<status>` with a bounded excerpt. */
  static fromAnswer(status: number, text: string, headerRequestId: string | undefined): LexeconApiError {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const envelope = typeof json === 'object' && json !== null ? (json as { error?: unknown; request_id?: unknown }) : undefined;
    const err = envelope?.error;
    if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { message?: unknown }).message === 'string') {
      const e = err as { code: string; message: string; details?: unknown };
      const requestId = typeof envelope!.request_id === 'string' ? envelope!.request_id : headerRequestId;
      return new LexeconApiError(status, e.code, e.message, e.details, requestId);
    }
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    return new LexeconApiError(status, `HTTP_${status}`, `Lexecon answered ${status}${excerpt ? `: ${excerpt}` : ''}`, undefined, headerRequestId);
  }
}

/** No answer from the server (connection refused or reset, timeout, unreadable answer) after every retry. */
export class LexeconUnavailableError extends Error {
  override readonly name = 'LexeconUnavailableError';
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(message: string, cause: unknown, attempts: number) {
    super(message, { cause });
    this.attempts = attempts;
  }
}
