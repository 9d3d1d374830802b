/**
 * The wire shapes that the client's public types mention, as plain TypeScript.
 * The client's published declarations import them from here, so they never
 * need zod; messages.ts checks at compile time that its schemas parse to
 * exactly these, so the two cannot drift.
 */

/** Another connection in the room, as presence reports it. */
export interface Peer {
  /** Its connection ID: what `dm` takes. */
  conn: string;
  /** Its client ID (with a token, the user). */
  client: string;
  /** Its presence state; null until it announces one. */
  state: unknown;
}

/** The body of `POST /new` and `GET /room/:id`, exactly as DriftDB returns it. */
export interface RoomResult {
  room: string;
  socket_url: string;
  http_url: string;
}
