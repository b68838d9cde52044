/**
 * `lexecon/client`: the TypeScript client of a Lexecon server (`LexeconClient`, typed errors, the wire
 * types) and, re-exported, `lexecon/verify` (the offline token verifier). Imports only `node:*` and
 * src/client/* (test/client/import-graph.test.ts holds it to that).
 */
export { LexeconClient, awaitingReview, MAX_WAIT_S, type CallOptions, type LexeconClientOptions, type WaitOptions } from './client.js';
export { LexeconApiError, LexeconUnavailableError } from './errors.js';
export type * from './types.js';
export * from './verify.js';
