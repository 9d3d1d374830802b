// A shared to-do list on the React bindings (/lib/react.js): a reducer over a
// stream (optimistic, compacted every 100 actions), who is here, and the link.
// Plain JS with createElement, since the Worker serves this file as it is.
import { createElement as h, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { RoomProvider, useLatency, usePresence, useSharedReducer, useStatus } from '/lib/react.js';

function todos(list, action) {
  if (action.add) return [...list, { id: action.add, text: action.text, done: false }];
  return list.map((item) => (item.id === action.toggle ? { ...item, done: !item.done } : item));
}

function Header() {
  const status = useStatus();
  const latency = useLatency();
  return h(
    'header',
    null,
    h('nav', null, h('a', { href: location.href }, 'link to share')),
    h(
      'span',
      { id: 'status', className: 'status', 'data-status': status },
      status + (status === 'open' && latency !== undefined ? ` · ${latency} ms` : ''),
    ),
  );
}

function Todos() {
  const [list, dispatch] = useSharedReducer('todos', todos, []);
  const [text, setText] = useState('');
  const add = (event) => {
    event.preventDefault();
    if (text.trim()) dispatch({ add: Math.random().toString(36).slice(2), text: text.trim() });
    setText('');
  };
  return h(
    'section',
    null,
    h(
      'form',
      { onSubmit: add },
      h('input', {
        value: text,
        onChange: (e) => setText(e.target.value),
        placeholder: 'something to do',
        'aria-label': 'new item',
      }),
      h('button', { type: 'submit' }, 'add'),
    ),
    h(
      'ul',
      { className: 'log' },
      list.map((item) =>
        h(
          'li',
          { key: item.id },
          h(
            'label',
            null,
            h('input', { type: 'checkbox', checked: item.done, onChange: () => dispatch({ toggle: item.id }) }),
            ` ${item.text}`,
          ),
        ),
      ),
    ),
  );
}

function Here() {
  // The name chosen on the other demo pages (localStorage), else this tab's guest name.
  const [name] = useState(
    () =>
      localStorage.getItem('demo.name') ||
      sessionStorage.getItem('demo.name') ||
      `guest-${Math.random().toString(36).slice(2, 6)}`,
  );
  const [, , others] = usePresence({ name, page: 'react' });
  return h(
    'p',
    { className: 'hint' },
    `You are ${name}. Also here: ${others.map((p) => String(p.state?.name ?? p.client)).join(', ') || 'nobody yet'}.`,
  );
}

createRoot(document.querySelector('#root')).render(
  h(RoomProvider, null, h(Header), h('main', null, h('h1', null, 'A shared to-do list'), h(Here), h(Todos))),
);
