// A data channel call to every other tab on this page. Both sides open the
// same pre-agreed channel (negotiated, id 0), so neither has to wait for the
// other's channel to arrive; the signaling helper does the rest.
import { signaling } from '/lib/signaling.js';
import { element, nameOf, openRoom } from '/demo/common.js';

const room = openRoom('call');
const peers = document.querySelector('#peers');
const alone = document.querySelector('#alone');
const log = document.querySelector('#log');
const text = document.querySelector('#text');
const channels = new Map();

const button = document.querySelector('#send button');
const note = document.querySelector('#send-note');

const say = (who, said) => log.append(element('li', {}, element('b', { textContent: who }), ` ${said}`));
const openChannels = () => [...channels.values()].filter(({ channel }) => channel.readyState === 'open');

/** Send works only with a channel open; until then the button is off and the note says why. */
function showCanSend() {
  const open = openChannels().length > 0;
  button.disabled = !open;
  note.hidden = open;
  note.textContent = channels.size
    ? 'Connecting to the others in this call… You can send once a connection is up.'
    : "Nobody else is in this call yet: open this page's address in another browser, and you can send them messages here.";
}
const showAlone = () => {
  alone.hidden = channels.size > 0;
  showCanSend();
};

signaling(room, {
  iceServers: [], // host candidates suffice on one network; add STUN/TURN servers to cross NATs
  accept: (peer) => peer.state?.page === 'call',
  onCall({ peer, pc }) {
    const channel = pc.createDataChannel('chat', { negotiated: true, id: 0 });
    const item = element('li');
    item.dataset.conn = peer.conn;
    const render = () => {
      item.dataset.state = channel.readyState;
      item.textContent = `${nameOf(peer)}: ${channel.readyState === 'open' ? 'connected' : pc.connectionState}`;
      showCanSend();
    };
    channel.onopen = channel.onclose = pc.onconnectionstatechange = render;
    channel.onmessage = (event) => say(nameOf(peer), String(event.data));
    render();
    peers.append(item);
    channels.set(peer.conn, { channel, item });
    showAlone();
  },
  onHangup({ peer }) {
    channels.get(peer.conn)?.item.remove();
    channels.delete(peer.conn);
    showAlone();
  },
  onError: (error) => console.warn('signaling:', error),
});
showCanSend();

document.querySelector('#send').addEventListener('submit', (event) => {
  event.preventDefault();
  const said = text.value.trim();
  const open = openChannels();
  if (!open.length) return showCanSend(); // the text stays in the field; the note says why
  if (!said) return;
  text.value = '';
  for (const { channel } of open) channel.send(said);
  say('you', said);
});
