/** Tokens for the gate tests, signed with the key the worker-access project trusts. */
import { hmacSigner, token } from '../worker-auth/helpers.ts';

const signer = hmacSigner('access-test-secret-0123456789abcdef', 'hs');
const wrong = hmacSigner('not-the-secret-0123456789abcdef-xx', 'hs');

/** A token for `room` and `sub`, valid for 10 minutes from now, with `extra` claims over those. */
export function tokenFor(
  room: string,
  sub: string,
  extra: Record<string, unknown> = {},
  badSignature = false,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return token({ sub, room, iat: now, exp: now + 600, ...extra }, badSignature ? wrong : signer);
}
