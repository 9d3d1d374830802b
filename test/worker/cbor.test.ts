// CBOR frames both ways, including the output of DriftDB's CBOR libraries.
import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, hex, push } from './helpers.ts';

describe('CBOR', () => {
  it('decodes cbor-web and cbor-x get frames (shortest and 16-bit map headers)', async () => {
    const room = freshRoom();
    const s = await connect(room, '?cbor=true');
    s.sendRaw(hex('a3 6474797065 63676574 636b6579 616b 63736571 00')); // cbor-web
    s.sendRaw(hex('b90003 6474797065 63676574 636b6579 616b 63736571 00')); // cbor-x
    expect(await s.next()).toEqual({ type: 'init', key: 'k', data: [] });
    expect(await s.next()).toEqual({ type: 'init', key: 'k', data: [] });
  });

  it('answers a CBOR ping from either library, in CBOR', async () => {
    const s = await connect(freshRoom(), '?cbor=1');
    s.sendRaw(hex('a164747970656470696e67'));
    s.sendRaw(hex('b9000164747970656470696e67'));
    expect(await s.next()).toEqual({ type: 'pong', nonce: null });
    expect(await s.next()).toEqual({ type: 'pong', nonce: null });
    expect(s.received.length).toBe(2);
  });

  it('treats get with a null seq (cbor-x, replay:false) as no reply', async () => {
    const s = await connect(freshRoom(), '?cbor=true');
    s.sendRaw(hex('b90003 6474797065 63676574 636b6579 626b32 63736571 f6'));
    expect(await s.drain()).toEqual([]);
  });

  it('round-trips a tag-64 Uint8Array: bytes to CBOR sockets, number arrays to JSON sockets', async () => {
    const room = freshRoom();
    const cborSock = await connect(room, '?cbor=true');
    const jsonSock = await connect(room);
    // {type:'push',key:'k',value:{v:<tag 64>h'010203'},action:{type:'append'}} as cbor-web writes it
    cborSock.sendRaw(
      hex(
        'a4 6474797065 6470757368 636b6579 616b 6576616c7565 a1 6176 d840 43 010203 66616374696f6e a1 6474797065 66617070656e64',
      ),
    );
    const echo = await cborSock.next();
    expect(echo).toEqual({ type: 'push', key: 'k', value: { v: new Uint8Array([1, 2, 3]) }, seq: 1 });
    expect(await jsonSock.next()).toEqual({ type: 'push', key: 'k', value: { v: [1, 2, 3] }, seq: 1 });
    // Stored losslessly, and replayed the same way.
    cborSock.send({ type: 'get', key: 'k' });
    expect(await cborSock.next()).toEqual({
      type: 'init',
      key: 'k',
      data: [{ value: { v: new Uint8Array([1, 2, 3]) }, seq: 1 }],
    });
    jsonSock.send({ type: 'get', key: 'k' });
    expect(await jsonSock.next()).toEqual({ type: 'init', key: 'k', data: [{ value: { v: [1, 2, 3] }, seq: 1 }] });
  });

  it('sends server frames as CBOR maps with text keys in the shortest form', async () => {
    const s = await connect(freshRoom(), '?cbor=true');
    const frames: Uint8Array[] = [];
    s.ws.addEventListener('message', (e) => frames.push(new Uint8Array(e.data as ArrayBuffer)));
    s.send({ type: 'ping', nonce: null });
    await s.next();
    // {"type":"pong","nonce":null}, as cbor-web itself writes it
    expect(Array.from(frames[0]!)).toEqual(Array.from(hex('a2647479706564706f6e67656e6f6e6365f6')));
  });

  it('writes push and init frames byte for byte like the reference vectors', async () => {
    const room = freshRoom();
    const s = await connect(room, '?cbor=true');
    const frames: Uint8Array[] = [];
    s.ws.addEventListener('message', (e) => frames.push(new Uint8Array(e.data as ArrayBuffer)));
    s.sendRaw(encode({ type: 'push', key: 'k', value: { v: new Uint8Array([1, 2, 3]) }, action: { type: 'relay' } }));
    await s.next();
    const other = freshRoom();
    const t = await connect(other, '?cbor=true');
    const tFrames: Uint8Array[] = [];
    t.ws.addEventListener('message', (e) => tFrames.push(new Uint8Array(e.data as ArrayBuffer)));
    t.send(push('k', 'foo'));
    t.send({ type: 'get', key: 'k', seq: 0 });
    await t.next();
    await t.next();
    const asHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    expect(asHex(frames[0]!)).toBe('a464747970656470757368636b6579616b6576616c7565a16176430102036373657101');
    expect(asHex(tFrames[1]!)).toBe('a3647479706564696e6974636b6579616b646461746181a26576616c756563666f6f6373657101');
  });

  it('accepts JSON text on a CBOR socket and CBOR binary on a JSON socket', async () => {
    const room = freshRoom();
    const s = await connect(room);
    s.sendRaw(encode(push('k', 'from cbor')));
    expect(await s.next()).toEqual({ type: 'push', key: 'k', value: 'from cbor', seq: 1 });
    const c = await connect(room, '?cbor=yes');
    c.send({ type: 'get', key: 'k' });
    expect(await c.next()).toEqual({ type: 'init', key: 'k', data: [{ value: 'from cbor', seq: 1 }] });
  });

  it('accepts any non-empty cbor value, including the doubled query of a reconnecting DriftDB client', async () => {
    const s = await connect(freshRoom(), '?cbor=true?cbor=true');
    const frames: unknown[] = [];
    s.ws.addEventListener('message', (e) => frames.push(e.data));
    s.send({ type: 'ping', nonce: 1 });
    await s.next();
    expect(frames[0]).toBeInstanceOf(ArrayBuffer);
  });

  it('answers the exact text {"type":"ping"} in JSON text even on a CBOR socket (the runtime answers it)', async () => {
    const s = await connect(freshRoom(), '?cbor=true');
    const frames: unknown[] = [];
    s.ws.addEventListener('message', (e) => frames.push(e.data));
    s.sendRaw('{"type":"ping"}');
    expect(await s.next()).toEqual({ type: 'pong', nonce: null });
    expect(frames[0]).toBe('{"type":"pong","nonce":null}');
  });
});
