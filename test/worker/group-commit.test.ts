import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../worker/group-commit.ts';

describe('group commit', () => {
  it('runs a task that does not write at once when nothing is queued', () => {
    const log: string[] = [];
    new GroupCommit(() => {}).run(() => log.push('relay'), false);
    expect(log).toEqual(['relay']);
  });

  it('queues a task that arrives in the same turn as one that ran at once, and runs it next turn', async () => {
    const log: string[] = [];
    const loop = new GroupCommit(() => {});
    let drained!: () => void;
    const done = new Promise<void>((resolve) => (drained = resolve));
    loop.run(() => log.push('relay 1'), false);
    loop.run(() => {
      log.push('relay 2');
      drained();
    }, false);
    expect(log).toEqual(['relay 1']);
    await done;
    expect(log).toEqual(['relay 1', 'relay 2']);
    loop.run(() => log.push('relay 3'), false); // a new turn: at once again
    expect(log).toEqual(['relay 1', 'relay 2', 'relay 3']);
  });

  it('queues writes and everything after them, and applies them in arrival order in one later turn', async () => {
    const log: string[] = [];
    const loop = new GroupCommit(() => {});
    let drained!: () => void;
    const done = new Promise<void>((resolve) => (drained = resolve));
    loop.run(() => log.push('append 1'), true);
    loop.run(() => log.push('ping'), false);
    loop.run(() => log.push('append 2'), true);
    loop.run(() => {
      log.push('close');
      drained();
    }, false);
    expect(log).toEqual([]);
    await done;
    expect(log).toEqual(['append 1', 'ping', 'append 2', 'close']);
  });

  it('keeps going after a failing task and reports the failure', () => {
    const errors: unknown[] = [];
    const log: string[] = [];
    const loop = new GroupCommit((err) => errors.push(err));
    loop.run(() => {
      throw new Error('boom');
    }, true);
    loop.run(() => log.push('next'), true);
    loop.flush();
    expect(log).toEqual(['next']);
    expect(errors).toEqual([new Error('boom')]);
  });
});
