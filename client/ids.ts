/**
 * Random IDs and the stable client ID. IDs come from `crypto.getRandomValues`,
 * which (unlike `randomUUID`) also exists on plain-http pages, and are made on
 * demand: Workers forbid random values at module scope.
 */
export function randomId(length = 16): string {
  let id = '';
  for (const byte of crypto.getRandomValues(new Uint8Array(length))) id += (byte % 36).toString(36);
  return id;
}

const STORAGE_KEY = 'edgeroom.client';
let processId: string | undefined;

function tabStorage(): Storage | undefined {
  // Reading sessionStorage throws in sandboxed iframes and with storage blocked.
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

/**
 * The client ID this tab (sessionStorage: kept across reloads, not shared with
 * new tabs) or this process uses. `renew` makes and keeps a new one: a
 * duplicated tab copies sessionStorage, so the server replaces one of the two
 * (close code 4001) and that one must stop using the shared ID.
 */
export function stableClientId(renew = false): string {
  const storage = tabStorage();
  let id = renew ? undefined : (storage?.getItem(STORAGE_KEY) ?? processId);
  if (!id) {
    id = randomId();
    try {
      storage?.setItem(STORAGE_KEY, id);
    } catch {
      // quota or blocked storage: the ID then lives as long as the page
    }
  }
  return (processId = id);
}
