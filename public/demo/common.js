// What every demo page shares: which room, the connection, the status badge
// and a name for this tab.
import { connect } from '/lib/edgeroom.js';

/** The room ID: from the shareable URL `/r/<id>`, or `?room=<id>` on the other demo pages. */
export function roomId() {
  return location.pathname.match(/^\/r\/([\w-]+)/)?.[1] ?? new URLSearchParams(location.search).get('room');
}

/** A name per tab, kept across reloads (sessionStorage, like the client's secret). */
export function myName() {
  let name = sessionStorage.getItem('demo.name');
  if (!name) sessionStorage.setItem('demo.name', (name = `guest-${Math.random().toString(36).slice(2, 6)}`));
  return name;
}

/** A peer's display name; other kinds of clients may carry any presence state, or none. */
export const nameOf = (peer) => String(peer.state?.name ?? peer.client);

export function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * Join the page's room, announcing this tab's name and page in presence. The
 * client reconnects and resumes by itself; the badge shows where it stands.
 */
export function openRoom(page) {
  const id = roomId();
  if (!id) {
    location.replace('/');
    throw new Error('no room ID in this address');
  }
  const room = connect({ base: location.origin, room: id }, { presence: { name: myName(), page } });
  const badge = document.querySelector('#status');
  const show = (status) => {
    badge.textContent = status;
    badge.dataset.status = status;
  };
  show(room.status);
  room.on('status', show);
  for (const link of document.querySelectorAll('nav a[data-page]')) {
    const target = link.dataset.page;
    link.href = target === 'room' ? `/r/${id}` : `/demo/${target}?room=${id}`;
    if (target === page) link.setAttribute('aria-current', 'page');
  }
  globalThis.demo = { room }; // for the console
  return room;
}
