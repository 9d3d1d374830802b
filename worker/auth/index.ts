/** Token verification for access control; see verify.ts for the rules, rights.ts for what a token grants. */
export { authConfigFrom, type AuthConfig } from './config.ts';
export { Claims } from './claims.ts';
export { ALGORITHMS, type Algorithm } from './keys.ts';
export { CompiledRights, MAX_PATTERNS, MAX_RIGHTS_BYTES, type SerializedRights } from './rights.ts';
export {
  SUBPROTOCOL,
  tokenFromAuthorization,
  tokenFromProtocols,
  tokenFromRequest,
  tokenFromUrl,
  type FoundToken,
} from './sources.ts';
export {
  AUTH_CLOSE_CODES,
  AUTH_HTTP_STATUS,
  AUTH_MESSAGES,
  CLOCK_LEEWAY_SECONDS,
  DEFAULT_MAX_TOKEN_SECONDS,
  MAX_TOKEN_BYTES,
  verifyToken,
  type AuthErrorCode,
  type AuthFailure,
  type AuthResult,
  type VerifyOptions,
} from './verify.ts';
