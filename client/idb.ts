/**
 * The smallest IndexedDB wrapper edgeroom/offline needs: one database, two
 * object stores, one transaction per call. It survives what idb-keyval does
 * not (jakearchibald/idb-keyval#165): Safari closes connections of background
 * tabs, after which every transaction throws `InvalidStateError`. A closed
 * connection is forgotten (its `close` event, or a `versionchange` from a newer
 * page) and opened again on the next call, and a call that meets a closing one
 * opens a new one and tries once more.
 */

/** The database of every offline room of this site: the outbox, and the cache of subjects. */
export const DATABASE = 'edgeroom-v1';
export type StoreName = 'outbox' | 'cache';

/** Runs `work` in a transaction of `store`; settles with its request's result when the transaction commits, or with the transaction's error. */
export type Run = <T>(store: StoreName, mode: IDBTransactionMode, work: Work<T>) => Promise<T>;
/** What a transaction does: its requests; the result is the returned one's (a structural type: IDBRequest<T> is invariant). */
export type Work<T> = (
  store: IDBObjectStore,
) => { readonly result: T; readonly error: DOMException | null } | undefined;

/**
 * @example
 * const run = database(indexedDB);
 * await run('outbox', 'readwrite', (s) => s.put(record, key));
 */
export function database(factory: IDBFactory): Run {
  let open: IDBDatabase | undefined;
  let opening: Promise<IDBDatabase> | undefined;

  const connect = (): Promise<IDBDatabase> =>
    (opening ??= new Promise((resolve, reject) => {
      const request = factory.open(DATABASE, 1);
      request.onupgradeneeded = () => {
        for (const name of ['outbox', 'cache']) request.result.createObjectStore(name);
      };
      request.onsuccess = () => {
        const db = (open = request.result);
        db.onclose = db.onversionchange = () => {
          db.close();
          open = opening = undefined;
        };
        resolve(db);
      };
      // No IndexedDB here (some private modes): every call fails with this error.
      request.onerror = () => reject(request.error);
    }));

  const run = <T>(store: StoreName, mode: IDBTransactionMode, work: Work<T>, again = true): Promise<T> =>
    new Promise((resolve, reject) => {
      const go = (db: IDBDatabase): void => {
        try {
          const tx = db.transaction(store, mode);
          const request = work(tx.objectStore(store));
          tx.oncomplete = () => resolve(request?.result as T);
          // A failed request aborts its transaction with its error (a full quota: QuotaExceededError).
          tx.onabort = () => reject(tx.error);
        } catch (error) {
          if (!again || (error as DOMException).name !== 'InvalidStateError') return reject(error);
          open = opening = undefined;
          run(store, mode, work, false).then(resolve, reject);
        }
      };
      // Synchronous when a connection is open: a write is issued in the caller's task
      // (the outbox's write-ahead: before the frame it saves is sent).
      open ? go(open) : connect().then(go, reject);
    });
  return run;
}
