/** Progress lines for a long run: "[ 12/57  1m05s] what … result". */
export class Progress {
  total = 0;
  #done = 0;
  #started = performance.now();

  #stamp() {
    const seconds = Math.round((performance.now() - this.#started) / 1000);
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  }

  /** @param {string} text */
  note(text) {
    console.log(`[${this.#stamp()}] ${text}`);
  }

  /** @param {string} name */
  start(name) {
    this.#done++;
    const width = String(this.total).length;
    process.stdout.write(`[${this.#stamp()}] ${String(this.#done).padStart(width)}/${this.total} ${name} … `);
  }

  /** @param {string} text */
  done(text) {
    process.stdout.write(`${text}\n`);
  }
}
