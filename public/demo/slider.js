// A shared slider: one key/value subject. `room.get` returns our own pending
// move until the server has it, so echoes of older moves never jerk the thumb back.
import { openRoom } from '/demo/common.js';

const room = openRoom('slider');
const slider = document.querySelector('#slider');
const output = document.querySelector('#value');

function show() {
  const value = room.get('slider');
  if (typeof value !== 'number') return;
  slider.value = String(value);
  output.textContent = String(value);
}
room.subscribe('slider', show);
slider.addEventListener('input', () => {
  room.set('slider', slider.valueAsNumber).catch(show);
  show();
});
