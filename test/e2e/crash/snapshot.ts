/**
 * Reads what a room had stored, straight from its SQLite file in the state
 * directory, while its workerd process is dead (after the SIGKILL, before the
 * restart). Read-only: the restarted server recovers the file itself.
 *
 * This knows the store's schema (worker/store.ts: `entries (key, seq, value)`),
 * which no client can see: it tells exactly which writes the crash left behind.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface StoredRow {
  seq: number;
  value: unknown;
}

/** Every Room database in the state directory (one per room that was used). */
function roomDatabases(persist: string): string[] {
  const dir = join(persist, 'v3', 'do', 'edgeroom-Room');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
    .map((f) => join(dir, f));
}

/** The entries of `subject` in the only room of `persist`, in seq order, and the counter's reservation. */
export function storedAtCrash(persist: string, subject: string): { rows: StoredRow[]; reserved: number } {
  const files = roomDatabases(persist);
  if (files.length !== 1) throw new Error(`expected one room database in ${persist}, found ${files.length}`);
  const db = new DatabaseSync(files[0]!, { readOnly: true });
  try {
    const rows = db
      .prepare('SELECT seq, value FROM entries WHERE key = ? ORDER BY seq')
      .all(subject)
      .map((row) => ({ seq: Number(row.seq), value: JSON.parse(String(row.value)) as unknown }));
    const meta = db.prepare("SELECT value FROM meta WHERE name = 'seq_reserved'").get();
    return { rows, reserved: Number(meta?.value ?? 0) };
  } finally {
    db.close();
  }
}
