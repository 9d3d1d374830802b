/**
 * Random IDs and the stable per-room secret. IDs come from `crypto.getRandomValues`,
 * which (unlike `randomUUID`) also exists on plain-http pages, and are made on
 * demand: Workers forbid random values at module scope.
 */
export function randomId(length = 24): string {
  let id = '';
  for (const byte of crypto.getRandomValues(new Uint8Array(length))) id += (byte % 36).toString(36);
  return id;
}

/** Secrets of this process, by room ID (a Map: a room may be called `__proto__`). */
const processSecrets = new Map<string, string>();

/**
 * The secret this tab (sessionStorage: kept across reloads, not shared with
 * new tabs) or this process says hello with in one room. The server derives
 * our public client ID from it; no one else ever sees it. `renew` makes and
 * keeps a new one: a duplicated tab copies sessionStorage, so the server
 * replaces one of the two (close code 4001) and that one must stop using the
 * shared secret.
 */
export function stableSecret(room: string, renew?: boolean): string {
  const key = 'edgeroom.secret.' + room;
  let secret = (!renew && processSecrets.get(room)) || randomId();
  // sessionStorage throws in sandboxed iframes and with storage blocked, setItem when full:
  // the secret then lives as long as the page (or the process).
  try {
    secret = (!renew && sessionStorage.getItem(key)) || secret;
    sessionStorage.setItem(key, secret);
  } catch {}
  processSecrets.set(room, secret);
  return secret;
}
