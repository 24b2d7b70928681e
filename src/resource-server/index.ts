export { BearerError, createTokenVerifier } from './verifier.js';
export type { AccessTokenClaims, Requirement, TokenVerifier, VerifiedToken, VerifierOptions } from './verifier.js';
export { latchkeyAuthPlugin } from './fastify.js';
