/**
 * `LexeconClient`: typed calls to a Lexecon server, with bounded, idempotent retries.
 *
 * Retries: every call here is safe to repeat. `decide` sends a `request_id` (generated when the caller
 * gives none) and repeats it unchanged, so the server answers the original decision instead of deciding
 * twice; the others only read (`verifyToken` and `evaluate` are POSTs that write nothing). A call is
 * repeated when no answer came (refused, reset, timeout) or the answer is 429 / 502 / 503 / 504, with
 * exponential backoff and jitter; a `Retry-After` longer than `maxRetryAfterMs` is not waited for (the
 * error is thrown at once). Any other error status is thrown at once as a {@link LexeconApiError}.
 *
 * The client reads no environment variable: the caller passes the base URL and credentials.
 */
import { randomUUID } from 'node:crypto';
import { LexeconApiError, LexeconUnavailableError } from './errors.js';
import { fetchTransport, nodeTransport, type Transport } from './transport.js';
import type {
  Decision,
  DecisionDetail,
  DecisionRecord,
  DecisionRequest,
  Evaluation,
  EvaluateRequest,
  KeysResponse,
  TokenVerification,
} from './types.js';

export interface LexeconClientOptions {
  /** The server, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  baseUrl: string;
  /** An agent's API key (`lxk_…`). */
  apiKey?: string;
  /** Or a person's session token (from `POST /auth/login`). */
  sessionToken?: string;
  /** Per HTTP attempt (a long-poll's wait is added to it), default 10 000 ms. */
  timeoutMs?: number;
  /** Repeats after the first attempt, default 2. */
  retries?: number;
  /** The longest `Retry-After` honoured (longer: thrown at once), default 10 000 ms. */
  maxRetryAfterMs?: number;
  /** Send through this `fetch` instead of the default `node:http` transport (keep-alive, faster). */
  fetch?: typeof fetch;
  userAgent?: string;
}

export interface CallOptions {
  /** Aborts the call at once (its reason is thrown), also between retries. */
  signal?: AbortSignal;
}

export interface WaitOptions extends CallOptions {
  /** How long to wait in all, default 300 000 ms; then the last record is returned, still pending. */
  timeoutMs?: number;
  /** Seconds per long-poll, 1–30, default 30. */
  pollS?: number;
  /** Called after every answer with the time waited so far and the record. */
  onPoll?: (elapsedMs: number, record: DecisionRecord) => void;
}

/** The longest `?wait=` the server accepts (seconds). */
export const MAX_WAIT_S = 30;
/** Largest answer read (bytes). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;

/** Whether a long-poll should go on: the decision is escalated and its case still open (the server's rule). */
export function awaitingReview(record: DecisionRecord): boolean {
  return record.effective_outcome === 'escalated' && record.escalation !== null && record.escalation.status !== 'resolved';
}

export class LexeconClient {
  readonly #base: string;
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxRetryAfterMs: number;
  readonly #transport: Transport;
  readonly #userAgent: string;

  constructor(opts: LexeconClientOptions) {
    let base = opts.baseUrl;
    while (base.endsWith('/')) base = base.slice(0, -1);
    const url = new URL(base); // throws TypeError for something that is not a URL
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be http(s), not ${url.protocol}`);
    if (opts.apiKey !== undefined && opts.sessionToken !== undefined) throw new TypeError('give apiKey or sessionToken, not both');
    const secret = opts.apiKey ?? opts.sessionToken;
    if (secret !== undefined && (secret.length === 0 || !/^[\x21-\x7e]+$/.test(secret))) throw new TypeError('the credential must be printable ASCII');
    this.#base = base;
    this.#auth = secret === undefined ? undefined : `Bearer ${secret}`;
    this.#timeoutMs = positive(opts.timeoutMs ?? 10_000, 'timeoutMs');
    this.#retries = opts.retries ?? 2;
    if (!Number.isSafeInteger(this.#retries) || this.#retries < 0) throw new TypeError('retries must be a non-negative integer');
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 10_000;
    this.#transport = opts.fetch ? fetchTransport(opts.fetch) : nodeTransport();
    this.#userAgent = opts.userAgent ?? 'lexecon-client';
  }

  /** `POST /decide`. Always resolves with the decision (whatever its outcome); throws only errors. */
  decide(request: DecisionRequest, opts: CallOptions = {}): Promise<Decision> {
    const body = { ...request, request_id: request.request_id ?? `lxc-${randomUUID()}` };
    return this.#call<Decision>('POST', '/decide', body, opts.signal);
  }

  /** `GET /decide/:id?wait=N`: the stored decision, after waiting up to `waitS` (0–30) while it is escalated and open. */
  getDecision(decisionId: string, opts: CallOptions & { waitS?: number } = {}): Promise<DecisionDetail> {
    const waitS = opts.waitS ?? 0;
    if (!Number.isSafeInteger(waitS) || waitS < 0 || waitS > MAX_WAIT_S) throw new TypeError(`waitS must be an integer 0–${MAX_WAIT_S}`);
    const path = `/decide/${encodeURIComponent(decisionId)}${waitS > 0 ? `?wait=${waitS}` : ''}`;
    return this.#call<DecisionDetail>('GET', path, undefined, opts.signal, waitS * 1000);
  }

  /**
   * Long-poll a decision while it is escalated and its case open, until it is resolved or overridden, or
   * `timeoutMs` has passed: then the last record is returned, still pending (the caller decides what a
   * timeout means; for an agent, not acting). Never throws for the timeout.
   */
  async waitForDecision(decisionId: string, opts: WaitOptions = {}): Promise<DecisionDetail> {
    const total = opts.timeoutMs ?? 300_000;
    if (!Number.isFinite(total) || total < 0) throw new TypeError('timeoutMs must be a non-negative number');
    const pollS = opts.pollS ?? MAX_WAIT_S;
    if (!Number.isSafeInteger(pollS) || pollS < 1 || pollS > MAX_WAIT_S) throw new TypeError(`pollS must be an integer 1–${MAX_WAIT_S}`);
    const start = performance.now();
    const elapsed = () => performance.now() - start;
    let waitS = Math.min(pollS, Math.floor(total / 1000));
    for (;;) {
      const record = await this.getDecision(decisionId, { waitS, signal: opts.signal });
      opts.onPoll?.(elapsed(), record);
      if (!awaitingReview(record)) return record;
      const remaining = total - elapsed();
      if (remaining <= 0) return record;
      if (remaining < 1000) {
        // Less than the smallest long-poll is left: wait it out, then look once more.
        await sleep(remaining, opts.signal);
        waitS = 0;
        continue;
      }
      waitS = Math.min(pollS, Math.floor(remaining / 1000));
    }
  }

  /** `POST /decide/verify`: the server's verdict on a token (sees revocation and emergency stops). */
  verifyToken(token: string, expected: { action: string; tool: string }, opts: CallOptions = {}): Promise<TokenVerification> {
    return this.#call<TokenVerification>('POST', '/decide/verify', { token, action: expected.action, tool: expected.tool }, opts.signal);
  }

  /** `POST /policies/evaluate`: a dry run (no ledger entry, no token). */
  evaluate(request: EvaluateRequest, opts: CallOptions = {}): Promise<Evaluation> {
    return this.#call<Evaluation>('POST', '/policies/evaluate', request, opts.signal);
  }

  /** `GET /api/governance/keys`: the public keys (anonymous). See `publicKeysFrom` / `KeySet`. */
  keys(opts: CallOptions = {}): Promise<KeysResponse> {
    return this.#call<KeysResponse>('GET', '/api/governance/keys', undefined, opts.signal);
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined, extraTimeoutMs = 0): Promise<T> {
    signal?.throwIfAborted();
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    if (this.#auth) headers.authorization = this.#auth;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const url = this.#base + path;
    let lastCause: unknown;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#attempt(url, method, headers, payload, signal, this.#timeoutMs + extraTimeoutMs);
      const more = attempt < this.#retries;
      if ('failure' in answer) {
        lastCause = answer.failure;
        if (!more) {
          throw new LexeconUnavailableError(
            `no answer from Lexecon at ${this.#base} (${method} ${path}) after ${attempt + 1} attempt(s): ${describe(lastCause)}`,
            lastCause,
            attempt + 1,
          );
        }
        await sleep(backoff(attempt), signal);
        continue;
      }
      const { status, text, retryAfterMs, requestId } = answer;
      if (status >= 200 && status < 300) {
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new LexeconApiError(status, 'INVALID_ANSWER', `Lexecon answered ${status} with something that is not JSON`, undefined, requestId);
        }
      }
      if (RETRY_STATUSES.has(status) && more && (retryAfterMs === undefined || retryAfterMs <= this.#maxRetryAfterMs)) {
        await sleep(Math.max(backoff(attempt), retryAfterMs ?? 0), signal);
        continue;
      }
      throw LexeconApiError.fromAnswer(status, text, requestId);
    }
  }

  /** One HTTP attempt: the answer, or why there was none. The caller's abort throws its reason. */
  async #attempt(
    url: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    payload: string | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<{ status: number; text: string; retryAfterMs: number | undefined; requestId: string | undefined } | { failure: unknown }> {
    try {
      const a = await this.#transport.send({ url, method, headers, body: payload, signal, timeoutMs, maxBytes: MAX_ANSWER_BYTES });
      return { status: a.status, text: a.text, retryAfterMs: retryAfter(a.retryAfter), requestId: a.requestId };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      return { failure: err };
    }
  }

  /** Closes the kept-alive connections now (optional: idle ones never keep the process alive). */
  close(): void {
    this.#transport.close();
  }
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${name} must be a positive number`);
  return n;
}

/** Exponential backoff with jitter: half to all of min(cap, base · 2^attempt). */
function backoff(attempt: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** `Retry-After` in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
