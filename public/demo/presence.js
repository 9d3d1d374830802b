// The presence list: everyone connected to the room, and which demo they have open.
import { element, myName, nameOf, openRoom, roomToken } from '/demo/common.js';

const room = openRoom('room');
const share = document.querySelector('#share');
// Never the token: it is this visitor's own.
share.value = location.href.replace(/#.*/, '');
if (roomToken()) {
  document.querySelector('#share-hint').textContent =
    'A private room: share this address, and whoever opens it needs a token of their own (…#token=…).';
}
document.querySelector('#share-form').addEventListener('submit', (event) => {
  event.preventDefault();
  navigator.clipboard?.writeText(share.value).catch(() => share.select());
});

const people = document.querySelector('#people');
// A room past its roster's size (maxRosterPeers) lists its first members and counts the rest.
let hidden = 0;
function render() {
  const self = element('li', { textContent: `${myName()} (you)` });
  self.dataset.conn = room.conn ?? '';
  const others = [...room.peers.values()].map((peer) => {
    const item = element('li', { textContent: `${nameOf(peer)} · ${peer.state?.page ?? '?'}` });
    item.dataset.conn = peer.conn;
    return item;
  });
  const more = hidden ? [element('li', { textContent: `and ${hidden} more` })] : [];
  people.replaceChildren(self, ...others, ...more);
}
room.on('presence', (event) => {
  if (event.event === 'sync') hidden = 0; // a new socket: a members event follows if any are left out
  render();
});
room.on('members', (members) => {
  hidden = members.hidden;
  render();
});
room.on('status', render);
addEventListener('demo-name', render);
render();
