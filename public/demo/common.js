// What every demo page shares: which room, the connection, the status badge
// and a name for this tab.
import { connect } from '/lib/edgeroom.js';

/** The room ID: from the shareable URL `/r/<id>`, or `?room=<id>` on the other demo pages. */
export function roomId() {
  return location.pathname.match(/^\/r\/([\w-]+)/)?.[1] ?? new URLSearchParams(location.search).get('room');
}

/**
 * The token for a private room (`p_…`), from the address's fragment: `/r/p_team#token=…`.
 * Browsers never send a fragment with the page request; the token goes only to the room,
 * in the socket's subprotocol header (`edgeroom.v1, auth.<token>`), not in its URL.
 */
export function roomToken() {
  return new URLSearchParams(location.hash.slice(1)).get('token') || undefined;
}

/** The user a token names (its `sub`), to show; the room checks the token itself. */
function tokenUser(token) {
  try {
    const json = atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))).sub;
  } catch {
    return undefined;
  }
}

/** The longest name the pages take (characters): presence states may be 2 KiB at most, and a name is a label. */
export const MAX_NAME = 40;

/** A name as shown: one line, no control characters, at most MAX_NAME characters. */
export function cleanName(name) {
  return Array.from(
    String(name)
      .replace(/[\p{Cc}\s]+/gu, ' ')
      .trim(),
  )
    .slice(0, MAX_NAME)
    .join('')
    .trim();
}

/** The name this tab would have without a chosen one: a token's user, else a guest name per tab (sessionStorage). */
function defaultName() {
  const user = roomToken() && tokenUser(roomToken());
  if (typeof user === 'string') return cleanName(user);
  let name = sessionStorage.getItem('demo.name');
  if (!name) sessionStorage.setItem('demo.name', (name = `guest-${Math.random().toString(36).slice(2, 6)}`));
  return name;
}

/** The name the visitor chose in the name field (localStorage, for all their tabs), else the default one. */
export function myName() {
  return cleanName(localStorage.getItem('demo.name') ?? '') || defaultName();
}

/** A peer's display name; other kinds of clients may carry any presence state, or none. */
export const nameOf = (peer) => cleanName(peer.state?.name ?? '') || String(peer.client);

export function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// How a room refuses a token (protocol/limits.ts CLOSE_CODES): none or a bad one (4100),
// expired (4101), revoked (4102), or not for this room (4103). Dialing again cannot help.
const REFUSED = new Set([4100, 4101, 4102, 4103]);

/**
 * The browser's WebSocket, offering `token` if any with the client's own subprotocols (`edgeroom.v1`
 * and its early frames: its hello and subscriptions), and telling `onRefused` when the room refuses it.
 */
export function socketClass(token, onRefused) {
  return class extends WebSocket {
    constructor(url, protocols = ['edgeroom.v1']) {
      super(url, token ? [...protocols, `auth.${token}`] : protocols);
      // Registered before the client's onclose, so the room is closed before it would dial again.
      this.addEventListener('close', (event) => REFUSED.has(event.code) && onRefused(event));
    }
  };
}

/** Says on the page why the room refused it, in the server's words. */
function showRefusal({ code, reason }, token) {
  const advice = token
    ? "This link's token does not let you in (any more): ask for a new one."
    : 'It is a private room: open it with a link that carries a token (…#token=…).';
  const note = element('p', {
    id: 'refused',
    className: 'refused',
    role: 'alert',
    textContent: `Refused: ${reason || 'no reason given'} (${code}). ${advice}`,
  });
  document.querySelector('#refused')?.remove();
  document.querySelector('main').prepend(note);
}

/**
 * The name field in the header. A name is kept in localStorage (so every tab of this
 * browser has it, also after a reload), announced in presence at once, and sent with
 * chat messages. Emptied, it falls back to the default name. Pages that show the name
 * listen for the `demo-name` event on `window`.
 */
function nameField(room, page) {
  const input = element('input', {
    id: 'name',
    maxLength: MAX_NAME,
    autocomplete: 'nickname',
    spellcheck: false,
    value: myName(),
    title: `Your name, as the others see it (at most ${MAX_NAME} characters)`,
  });
  input.setAttribute('aria-label', 'your name');
  const form = element(
    'form',
    { id: 'name-form', className: 'name' },
    element('label', { textContent: 'you are', htmlFor: 'name' }),
    input,
  );
  document.querySelector('header nav').after(form);
  let announced = myName();
  const apply = () => {
    const name = myName();
    input.value = name;
    input.setCustomValidity('');
    if (name === announced) return;
    try {
      room.setPresence({ name, page });
    } catch (error) {
      // A name is far below the room's presence limit (2 KiB); should the room refuse it, say so.
      input.setCustomValidity(`Not taken: ${error.message}`);
      input.reportValidity();
      return;
    }
    announced = name;
    dispatchEvent(new CustomEvent('demo-name', { detail: name }));
  };
  const save = () => {
    const name = cleanName(input.value);
    if (name) localStorage.setItem('demo.name', name);
    else localStorage.removeItem('demo.name');
    apply();
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save();
    input.blur();
  });
  input.addEventListener('change', save);
  // Another tab of this browser chose a name.
  addEventListener('storage', (event) => event.key === 'demo.name' && apply());
}

/**
 * Join the page's room, announcing this tab's name and page in presence. The
 * client reconnects and resumes by itself; the badge shows where it stands.
 * A private room's token comes from the address (roomToken); if the room
 * refuses it, the room is closed and the page says why. `open` is `connect`, or
 * `connectShared` (/lib/tabs.js), which takes the same arguments.
 */
export function openRoom(page, open = connect) {
  const id = roomId();
  if (!id) {
    location.replace('/');
    throw new Error('no room ID in this address');
  }
  const token = roomToken();
  const refused = (event) => {
    room.close();
    showRefusal(event, token);
  };
  const room = open(
    { base: location.origin, room: id },
    { presence: { name: myName(), page }, WebSocket: socketClass(token, refused) },
  );
  nameField(room, page);
  const badge = document.querySelector('#status');
  const show = (status) => {
    badge.textContent = status;
    badge.dataset.status = status;
  };
  show(room.status);
  room.on('status', show);
  for (const link of document.querySelectorAll('nav a[data-page]')) {
    const target = link.dataset.page;
    link.href = (target === 'room' ? `/r/${id}` : `/demo/${target}?room=${id}`) + (token ? `#token=${token}` : '');
    if (target === page) link.setAttribute('aria-current', 'page');
  }
  globalThis.demo = { room }; // for the console
  return room;
}
