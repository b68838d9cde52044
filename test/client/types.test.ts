/**
 * The client's hand-written wire types (src/client/types.ts) against the server's zod schemas, at the type
 * level: what a caller may send is what the server accepts, and what the server answers is what the
 * types describe. typecheck (`npm run typecheck`) fails when they drift; the runtime part only runs.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type {
  Decision,
  DecisionDetail,
  DecisionRecord,
  DecisionRequest,
  EvaluateRequest,
  Evaluation,
  PublicKeyDto,
  TokenClaimsDto,
  TokenVerification,
  TokenVerifyReason,
  ErrorEnvelope,
} from 'lexecon/client';
import type { CapabilityClaims, TokenFailureReason } from 'lexecon/verify';
import type { DecideBodySchema, DecisionDetailSchema, DecisionRecordSchema, DecisionResponseSchema } from '../../src/modules/decision/decision.schemas.js';
import type { EvaluateBodySchema, EvaluateResponseSchema } from '../../src/modules/policy/policy.schemas.js';
import type { TokenClaims } from '../../src/modules/tokens/token.js';
import type { VERIFY_REASONS } from '../../src/modules/tokens/tokens.routes.js';
import type { PublicKeyInfo } from '../../src/platform/crypto/keys.js';
import type { ErrorEnvelopeSchema } from '../../src/platform/errors.js';

describe('client types = server schemas', () => {
  it('DecisionRequest is the body POST /decide accepts, both ways', () => {
    expectTypeOf<DecisionRequest>().toExtend<z.input<typeof DecideBodySchema>>();
    expectTypeOf<z.infer<typeof DecideBodySchema>>().toExtend<DecisionRequest>();
  });

  it('Decision and DecisionRecord are what the server answers, both ways', () => {
    expectTypeOf<z.infer<typeof DecisionResponseSchema>>().toExtend<Decision>();
    expectTypeOf<Decision>().toExtend<z.infer<typeof DecisionResponseSchema>>();
    expectTypeOf<z.infer<typeof DecisionRecordSchema>>().toExtend<DecisionRecord>();
    expectTypeOf<DecisionRecord>().toExtend<z.infer<typeof DecisionRecordSchema>>();
    expectTypeOf<z.infer<typeof DecisionDetailSchema>>().toExtend<DecisionDetail>();
    expectTypeOf<DecisionDetail>().toExtend<z.infer<typeof DecisionDetailSchema>>();
  });

  it('token verification: the reasons, the claims', () => {
    expectTypeOf<TokenVerifyReason>().toEqualTypeOf<(typeof VERIFY_REASONS)[number]>();
    expectTypeOf<TokenFailureReason>().toExtend<TokenVerifyReason>();
    expectTypeOf<Exclude<TokenVerifyReason, TokenFailureReason>>().toEqualTypeOf<'ok' | 'unknown_token' | 'revoked' | 'revoked_by_stop'>();
    expectTypeOf<TokenClaimsDto>().toEqualTypeOf<TokenClaims>();
    expectTypeOf<CapabilityClaims>().toEqualTypeOf<TokenClaims>();
    expectTypeOf<TokenVerification['claims']>().toEqualTypeOf<TokenClaims | null>();
  });

  it('evaluate: request and answer, both ways', () => {
    expectTypeOf<EvaluateRequest>().toExtend<z.input<typeof EvaluateBodySchema>>();
    expectTypeOf<z.infer<typeof EvaluateBodySchema>>().toExtend<EvaluateRequest>();
    expectTypeOf<z.infer<typeof EvaluateResponseSchema>>().toExtend<Evaluation>();
    expectTypeOf<Evaluation>().toExtend<z.infer<typeof EvaluateResponseSchema>>();
  });

  it('keys and the error envelope', () => {
    expectTypeOf<PublicKeyInfo>().toExtend<PublicKeyDto>();
    expectTypeOf<PublicKeyDto>().toExtend<PublicKeyInfo>();
    expectTypeOf<z.infer<typeof ErrorEnvelopeSchema>>().toExtend<ErrorEnvelope>();
    expectTypeOf<ErrorEnvelope>().toExtend<z.infer<typeof ErrorEnvelopeSchema>>();
  });
});
