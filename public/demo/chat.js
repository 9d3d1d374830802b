// Chat on an ordered stream: history for late joiners (the last 50), live
// messages after it, each exactly once and in order, also across reconnects.
import { element, myName, openRoom } from '/demo/common.js';

const room = openRoom('chat');
const log = document.querySelector('#log');
const text = document.querySelector('#text');

room.subscribe('chat', (event) => {
  if (event.type === 'reset') log.replaceChildren();
  if (event.type !== 'message') return;
  const { name, text: said } = event.value ?? {};
  const line = element('li', {}, element('b', { textContent: String(name) }), ` ${String(said)}`);
  line.dataset.seq = String(event.seq);
  log.append(line);
  line.scrollIntoView({ block: 'nearest' });
}, { last: 50 });

document.querySelector('#send').addEventListener('submit', (event) => {
  event.preventDefault();
  const said = text.value.trim();
  if (!said) return;
  text.value = '';
  // Queued while offline and sent once reconnected; the echo is what shows it.
  room.append('chat', { name: myName(), text: said }).catch((error) => alert(`not sent: ${error.message}`));
});
