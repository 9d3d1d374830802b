// The offline outbox and cache (edgeroom/offline, edgeroom/cache): notes appended
// to a stream. A note added offline waits on this device, shown as unsent, and is
// sent once the room is reachable, also after a reload (the same IDs, so the room
// never stores it twice). The list renders from the device's cache at once, then
// the room replays only what came after it. With `?tabs`, the tabs of this browser
// share one socket (edgeroom/tabs), each with an outbox of its own.
import { withCache } from '/lib/cache.js';
import { connectOffline } from '/lib/offline.js';
import { element, myName, roomId, roomToken, socketClass } from '/demo/common.js';

const id = roomId();
if (!id) location.replace('/');
const address = { base: location.origin, room: id };
const token = roomToken();
const badge = document.querySelector('#status');
const outbox = document.querySelector('#outbox');
const list = document.querySelector('#notes');
const text = document.querySelector('#text');

const show = (status) => {
  badge.textContent = status;
  badge.dataset.status = status;
};
const room = await withCache(
  await connectOffline(address, {
    connect: new URLSearchParams(location.search).has('tabs')
      ? (await import('/lib/tabs.js')).connectShared
      : undefined,
    presence: { name: myName(), page: 'notes' },
    WebSocket: socketClass(token, (event) => {
      room.close();
      show(`refused (${event.code})`);
    }),
  }),
  address,
);
show(room.status);
room.on('status', show);
for (const link of document.querySelectorAll('nav a[data-page]')) {
  const target = link.dataset.page;
  link.href = (target === 'room' ? `/r/${id}` : `/demo/${target}?room=${id}`) + (token ? `#token=${token}` : '');
  if (target === 'notes') link.setAttribute('aria-current', 'page');
}

const count = (n) => {
  outbox.dataset.count = String(n);
  outbox.textContent = n ? `${n} unsent, kept on this device` : 'nothing unsent';
};
count(room.pending);
room.on('pending', count);
if (!room.persisted)
  outbox.after(
    element('p', { className: 'hint', textContent: 'No IndexedDB here: unsent notes last as long as this page.' }),
  );
// Older than the room's retention: the room may have forgotten that it stored them. A notes app sends them again.
room.on('expired', (note) => note.resend());

/** A stored note, in seq order, once. */
function render(value, seq) {
  if (list.querySelector(`li[data-seq="${seq}"]`)) return;
  const item = element('li', { textContent: String(value?.text) });
  item.dataset.seq = String(seq);
  const next = [...list.children].find((other) => Number(other.dataset.seq) > seq);
  list.insertBefore(item, next ?? null);
}
room.subscribe(
  'notes',
  (event) => {
    if (event.type === 'reset') list.replaceChildren();
    if (event.type === 'message') render(event.value, event.seq);
  },
  { last: 100 },
);

document.querySelector('#add').addEventListener('submit', (event) => {
  event.preventDefault();
  const note = text.value.trim();
  text.value = '';
  if (note) room.append('notes', { text: note }).catch((error) => show(`not stored: ${error.code}`));
});
globalThis.demo = { room }; // for the console, and the tests
