// What a token's rights allow, matched the way the room will match subjects.
import { describe, expect, it } from 'vitest';
import { CompiledRights, type RightsClaim } from '../../worker/auth/rights.ts';

const rights = (claim: RightsClaim | undefined) => CompiledRights.fromClaim(claim);

describe('rights', () => {
  it('match exact subjects and prefixes ending in *', () => {
    const r = rights({ read: ['lobby', 'chat/*'] });
    expect(['lobby', 'chat/', 'chat/general'].map((s) => r.canRead(s))).toEqual([true, true, true]);
    expect(['lobby2', 'lobb', 'chat', 'xchat/a'].map((s) => r.canRead(s))).toEqual([false, false, false, false]);
    expect(rights({ read: ['*'] }).canRead('anything at all')).toBe(true);
  });

  it('let a deny (!) override every allow of its list, and only its list', () => {
    const r = rights({ read: ['*', '!secret*', '!admin'], write: ['secret-notes'] });
    expect(['chat', 'admins', 'secret', 'secret-notes', 'admin'].map((s) => r.canRead(s))).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(r.canWrite('secret-notes')).toBe(true);
    // An exact allow does not beat a deny either; denies alone allow nothing.
    expect(rights({ write: ['x', '!x'] }).canWrite('x')).toBe(false);
    expect(rights({ write: ['!x'] }).canWrite('y')).toBe(false);
  });

  it('keep compact separate from write', () => {
    const r = rights({ write: ['*'], compact: ['log'] });
    expect([r.canWrite('chat'), r.canCompact('chat'), r.canCompact('log')]).toEqual([true, false, true]);
    expect(rights({ compact: ['log'] }).canWrite('log')).toBe(false);
  });

  it('default, with no rights claim, to read and write everything, presence and dm; no compact, no admin', () => {
    const r = rights(undefined);
    expect([r.canRead('a'), r.canWrite('b'), r.canCompact('c')]).toEqual([true, true, false]);
    expect([r.presence, r.dm, r.admin]).toEqual([true, true, false]);
  });

  it('grant nothing that a rights claim leaves out', () => {
    const r = rights({});
    expect([r.canRead('a'), r.canWrite('a'), r.canCompact('a'), r.presence, r.dm, r.admin]).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    const admin = rights({ admin: true, presence: true });
    expect([admin.presence, admin.dm, admin.admin]).toEqual([true, false, true]);
  });

  it('serialise compactly and come back the same', () => {
    const claim = { read: ['*', '!secret*'], write: ['chat*'], compact: ['log'], presence: true, admin: true };
    const r = rights(claim);
    const stored = JSON.parse(JSON.stringify(r.serialize()));
    expect(stored).toEqual([['*', '!secret*'], ['chat*'], ['log'], 5]);
    const back = CompiledRights.deserialize(stored);
    for (const s of ['chat-1', 'secret', 'log', 'other']) {
      expect([back.canRead(s), back.canWrite(s), back.canCompact(s)], s).toEqual([
        r.canRead(s),
        r.canWrite(s),
        r.canCompact(s),
      ]);
    }
    expect([back.presence, back.dm, back.admin]).toEqual([true, false, true]);
    expect(JSON.stringify(rights(undefined).serialize())).toBe('[["*"],["*"],[],3]');
  });
});
