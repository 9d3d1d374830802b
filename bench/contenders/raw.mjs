/** Starts the raw `ws` contender (raw-server.mjs) as a child process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forwardingRoom, randomRoomName } from './contender.mjs';

const serverPath = fileURLToPath(new URL('./raw-server.mjs', import.meta.url));

/** @returns {Promise<{ origin: string, stop(): Promise<void> }>} */
export function startRaw() {
  const child = spawn(process.execPath, [serverPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('raw server did not start within 10 s'));
    }, 10_000);
    child.once('exit', (code) => reject(new Error(`raw server exited with ${code}`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (/** @type {string} */ text) => {
      const match = /listening (\d+)/.exec(text);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        origin: `http://127.0.0.1:${match[1]}`,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill();
          }),
      });
    });
  });
}

export async function startRawContender() {
  const server = await startRaw();
  const base = server.origin.replace(/^http/, 'ws');
  /** @type {import('./contender.mjs').Contender} */
  const contender = {
    id: 'raw',
    label: 'raw ws',
    action: 'relay',
    openRoom: async () => forwardingRoom(`${base}/${randomRoomName()}`),
  };
  return { server, contender };
}
