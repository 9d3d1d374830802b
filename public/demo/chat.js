// Chat on an ordered stream: history for late joiners (the last 50), live
// messages after it, each exactly once and in order, also across reconnects.
//
// A message you send shows at once, greyed with "sending…", until the room
// acknowledges it (the `append` promise resolves with its seq) or it comes back
// on the subscription, whichever is first; then it takes its place in seq order.
// Offline, the client queues it and sends it once reconnected, so it stays
// pending until then. Lines are keyed by seq, so the ack and the echo of one
// message never make two lines.
import { element, myName, openRoom } from '/demo/common.js';

const room = openRoom('chat');
const log = document.querySelector('#log');
const text = document.querySelector('#text');
/** IDs of the messages this tab sent: "yours" for messages the server did not stamp with a client ID. */
const sentHere = new Set();
/** The pending lines, by message ID. */
const pending = new Map();

/** A message's line: the name it claims, "(you)" if the server says it is yours, the text. */
function line(value, own) {
  const { name, text: said } = value ?? {};
  const item = element('li', {}, element('b', { textContent: String(name) }));
  if (own) {
    item.classList.add('mine');
    item.append(element('span', { className: 'you', textContent: ' (you)' }));
  }
  item.append(` ${String(said)}`);
  return item;
}

/** Shows a stored message once, in seq order, above the pending lines; replaces its pending line. */
function show(value, seq, own) {
  const id = value?.id;
  if (typeof id === 'string' && pending.has(id)) {
    pending.get(id).remove();
    pending.delete(id);
  }
  if (log.querySelector(`li[data-seq="${seq}"]`)) return; // acknowledged and echoed: one line
  const item = line(value, own);
  item.dataset.seq = String(seq);
  const next = [...log.children].find(
    (other) => other.classList.contains('pending') || Number(other.dataset.seq) > seq,
  );
  log.insertBefore(item, next ?? null);
  item.scrollIntoView({ block: 'nearest' });
}

room.subscribe(
  'chat',
  (event) => {
    // Compacted or wiped while we were away: the stored lines start over, ours still pending stay.
    if (event.type === 'reset') for (const item of log.querySelectorAll('li[data-seq]')) item.remove();
    if (event.type !== 'message') return;
    // Whose it is comes from the client ID the server stamped on it, never from the name it claims.
    const own = event.client !== undefined ? event.own : sentHere.has(event.value?.id);
    show(event.value, event.seq, own);
  },
  { last: 50 },
);

const newId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

document.querySelector('#send').addEventListener('submit', (event) => {
  event.preventDefault();
  const said = text.value.trim();
  if (!said) return;
  text.value = '';
  const message = { id: newId(), name: myName(), text: said };
  sentHere.add(message.id);
  const item = line(message, true);
  item.classList.add('pending');
  item.setAttribute('aria-busy', 'true');
  const state = element('small', { className: 'state', textContent: ' sending…' });
  item.append(state);
  pending.set(message.id, item);
  log.append(item);
  item.scrollIntoView({ block: 'nearest' });
  // Queued while offline and sent once reconnected; resent after a drop, applied once.
  room.append('chat', message).then(
    (seq) => show(message, seq, true),
    (error) => {
      // Refused (too large, the queue full, the room closed): say so on the line, keep the text.
      if (!pending.has(message.id)) return;
      pending.delete(message.id);
      item.classList.replace('pending', 'failed');
      item.removeAttribute('aria-busy');
      state.textContent = ` not sent: ${error.message}`;
    },
  );
});
