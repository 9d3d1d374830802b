// A shared slider: one key/value subject. `room.get` returns our own pending
// move until the server has it, so echoes of older moves never jerk the thumb back.
//
// A drag fires input events faster than a room takes publishes (50 a second by
// default), so only the latest position is sent, one at a time: each `set` waits
// for the one before it to be acknowledged. Positions in between are skipped,
// which is what a slider wants.
import { openRoom } from '/demo/common.js';

const room = openRoom('slider');
const slider = document.querySelector('#slider');
const output = document.querySelector('#value');
/** The newest position not yet handed to `room.set`. */
let unsent;
let sending = false;

function show() {
  // Mid-drag, the thumb is ahead of anything the room knows.
  const value = unsent ?? room.get('slider');
  if (typeof value === 'number') slider.value = String(value);
  // The number is always the thumb's: its starting 50 until the room holds a value.
  output.textContent = slider.value;
}

function sendLatest() {
  if (sending || unsent === undefined) return;
  const value = unsent;
  unsent = undefined;
  sending = true;
  room
    .set('slider', value)
    .catch(show)
    .finally(() => {
      sending = false;
      sendLatest();
    });
}

room.subscribe('slider', show);
show();
slider.addEventListener('input', () => {
  unsent = slider.valueAsNumber;
  sendLatest();
  show();
});
