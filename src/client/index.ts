/**
 * `lexecon/client`: the TypeScript client of a Lexecon server. It re-exports `lexecon/verify` (the
 * offline token verifier). Imports only `node:*` and src/client/* (a test holds it to that).
 */
export * from './verify.js';
