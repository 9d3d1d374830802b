// A room stored before the storage caps (schema 1: no entry sizes, a subjects
// row only per compacted subject) is counted once from its entries on wake.
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { connect, freshRoom, push, roomStub } from '../worker/helpers.ts';
import { countsOf, entry, httpGet, subFrom } from './helpers.ts';

const SCHEMA_1 = `
DROP TABLE entries;
DROP TABLE subjects;
CREATE TABLE entries (
  key TEXT NOT NULL, seq INTEGER NOT NULL, value NOT NULL, client TEXT,
  PRIMARY KEY (key, seq)) WITHOUT ROWID;
CREATE TABLE subjects (key TEXT PRIMARY KEY, floor INTEGER NOT NULL) WITHOUT ROWID;
DELETE FROM meta WHERE name = 'schema';
INSERT OR REPLACE INTO meta (name, value) VALUES ('seq_reserved', 1000);
`;

describe('schema 1 rooms', () => {
  it('count their subjects and bytes from the stored entries, and keep their floors', async () => {
    const room = freshRoom();
    await runInDurableObject(roomStub(room), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec(SCHEMA_1);
      const insert = 'INSERT INTO entries (key, seq, value, client) VALUES (?, ?, ?, ?)';
      sql.exec(insert, 'old', 1, '"a"', null);
      sql.exec(insert, 'old', 2, '"b"', null);
      sql.exec(insert, 'old', 3, '"ü"', 'cli'); // 4 bytes of JSON text
      sql.exec(insert, 'snap', 4, '{"s":1}', null);
      sql.exec(insert, 'snap', 5, '2', null);
      sql.exec('INSERT INTO subjects (key, floor) VALUES (?, ?)', 'snap', 4);
    });
    await evictDurableObject(roomStub(room), { webSockets: 'close' });

    // old: 3+3+16, 3+3+16, 4+3+3+16; snap: 7+4+16, 1+4+16.
    expect(await countsOf(room)).toEqual({ subjects: 2, bytes: 22 + 22 + 26 + 27 + 21, cached: 2, rows: 2 });
    expect(await httpGet(room, 'old')).toEqual({
      type: 'init',
      key: 'old',
      data: [entry('a', 1), entry('b', 2), { value: 'ü', seq: 3, client: 'cli' }],
    });
    expect(await subFrom(room, 'snap', 3)).toEqual([
      { type: 'init', key: 'snap', reset: true, data: [entry({ s: 1 }, 4), entry(2, 5)] },
    ]);

    // The stream cap (5) applies to what was there: three more entries trim two.
    const w = await connect(room);
    for (const v of ['c', 'd', 'e']) w.send(push('old', v));
    expect((await w.drain()).filter((m) => m.type === 'stream_size').map((m) => m.size)).toEqual([4, 5, 5]);
    expect((await httpGet(room, 'old')).data.map((e: { value: unknown }) => e.value)).toEqual([
      'b',
      'ü',
      'c',
      'd',
      'e',
    ]);
  });
});
