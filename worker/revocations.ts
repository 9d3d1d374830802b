/**
 * Revoked tokens, per room, in three scopes: every token issued before a time,
 * every token of one user issued before a time, and one token by its ID. Kept
 * in SQLite (they must outlive hibernation and restarts; the retention wipe
 * leaves them) and mirrored in memory, so the check on every frame is a few
 * lookups. Tokens without `iat` count as issued at the beginning of time.
 */
import type { Grant } from './grant.ts';

export type Revocation = { before: number } | { user: string; before: number } | { jti: string };

const SCHEMA = `CREATE TABLE IF NOT EXISTS revocations (
  kind TEXT NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID`;

export class Revocations {
  #sql: SqlStorage;
  #before = 0;
  #users = new Map<string, number>();
  #jtis = new Set<string>();

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(SCHEMA);
    for (const { kind, value, at } of sql.exec<{ kind: string; value: string; at: number }>(
      'SELECT kind, value, at FROM revocations',
    )) {
      if (kind === 'before') this.#before = at;
      else if (kind === 'user') this.#users.set(value, at);
      else this.#jtis.add(value);
    }
  }

  revoked(g: Grant): boolean {
    const iat = g.iat ?? 0;
    return iat < this.#before || iat < (this.#users.get(g.user) ?? 0) || (g.jti !== undefined && this.#jtis.has(g.jti));
  }

  /** Records a revocation. A later "before" only ever moves forward. */
  add(r: Revocation): void {
    if ('jti' in r) {
      this.#jtis.add(r.jti);
      this.#sql.exec(
        'INSERT OR REPLACE INTO revocations (kind, value, at) VALUES (?, ?, ?)',
        'jti',
        r.jti,
        Math.floor(Date.now() / 1000),
      );
    } else if ('user' in r) {
      const at = Math.max(r.before, this.#users.get(r.user) ?? 0);
      this.#users.set(r.user, at);
      this.#sql.exec('INSERT OR REPLACE INTO revocations (kind, value, at) VALUES (?, ?, ?)', 'user', r.user, at);
    } else {
      this.#before = Math.max(this.#before, r.before);
      this.#sql.exec(
        'INSERT OR REPLACE INTO revocations (kind, value, at) VALUES (?, ?, ?)',
        'before',
        '',
        this.#before,
      );
    }
  }
}
