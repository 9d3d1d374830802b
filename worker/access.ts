/**
 * What a token lets a connection (or an HTTP caller) do in a room. A socket
 * without a grant is in an open room, where the room ID is the capability and
 * everything is allowed, as in DriftDB. A refused operation gets `forbidden`
 * and changes nothing; the socket stays open.
 */
import type { ClientMessage, HttpMessage } from '../protocol/messages.ts';
import { rightsOf, type Grant } from './grant.ts';

/** Why `grant` does not allow `m`, or undefined when it does. */
export function forbidden(grant: Grant | undefined, m: ClientMessage | HttpMessage): string | undefined {
  if (!grant) return undefined;
  const r = rightsOf(grant);
  switch (m.type) {
    case 'push':
      if (m.action.type === 'compact') return r.canCompact(m.key) ? undefined : `Your token may not compact ${m.key}`;
      return r.canWrite(m.key) ? undefined : `Your token may not write to ${m.key}`;
    case 'get':
    case 'sub':
      return r.canRead(m.key) ? undefined : `Your token may not read ${m.key}`;
    case 'presence':
      return r.presence ? undefined : 'Your token may not set presence';
    case 'hello':
      return m.presence === undefined || r.presence ? undefined : 'Your token may not set presence';
    case 'dm':
      return r.dm ? undefined : 'Your token may not send direct messages';
    default:
      return undefined;
  }
}
