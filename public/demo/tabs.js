// One socket for all of this browser's tabs (edgeroom/tabs): every tab opens
// the room with connectShared; the tab holding the lock (the leader) owns the
// socket, and the others reach the room through it. Taps are a stream: every
// tab sees each one once, whichever tab leads, also across a change of leader.
import { connectShared } from '/lib/tabs.js';
import { element, openRoom } from '/demo/common.js';

const room = openRoom('tabs', connectShared);
const role = document.querySelector('#role');
const conn = document.querySelector('#conn');
const taps = document.querySelector('#taps');
/** This tab's label, kept across reloads (sessionStorage). */
let label = sessionStorage.getItem('demo.tab');
if (!label) sessionStorage.setItem('demo.tab', (label = `tab-${Math.random().toString(36).slice(2, 5)}`));

function render() {
  role.textContent = room.leader
    ? `This tab (${label}) holds the socket.`
    : `Another tab holds the socket; this one (${label}) talks to the room through it.`;
  role.dataset.leader = String(room.leader);
  conn.textContent = room.conn ?? '…';
}
// A change of leader closes the tabs' sockets, so it always comes with a status change.
room.on('status', render);
render();

room.subscribe(
  'taps',
  (event) => {
    if (event.type !== 'message') return;
    const who = typeof event.value?.tab === 'string' ? event.value.tab.slice(0, 12) : '?';
    taps.prepend(element('li', { textContent: `#${event.seq} from ${who}` }));
    while (taps.children.length > 20) taps.lastChild.remove();
  },
  { last: 20 },
);
document.querySelector('#tap-form').addEventListener('submit', (event) => {
  event.preventDefault();
  room.append('taps', { tab: label }).catch((error) => console.warn('tap not taken:', error.message));
});
