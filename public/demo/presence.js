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
function render() {
  const self = element('li', { textContent: `${myName()} (you)` });
  self.dataset.conn = room.conn ?? '';
  const others = [...room.peers.values()].map((peer) => {
    const item = element('li', { textContent: `${nameOf(peer)} · ${peer.state?.page ?? '?'}` });
    item.dataset.conn = peer.conn;
    return item;
  });
  people.replaceChildren(self, ...others);
}
room.on('presence', render);
room.on('status', render);
addEventListener('demo-name', render);
render();
