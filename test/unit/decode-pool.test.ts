import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BACKGROUND_NICE } from '../../src/contract/background-thread.ts';
import { DecodePool, INLINE_BYTES } from '../../src/ingest/decode-pool.ts';

// a thread's nice value: field 19 of its stat file
const niceIn = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);

// this process's threads and their nice values
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      nices.set(tid, niceIn(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended meanwhile
    }
  }
  return nices;
}

const logsBody = (padding: number) => new TextEncoder().encode(`{"resourceLogs": []}${' '.repeat(padding)}`);

describe('DecodePool', () => {
  it('tells the decompressed size before parsing, and parses nothing it is told to turn away', async () => {
    const pool = new DecodePool();
    try {
      for (const padding of [10, INLINE_BYTES + 10]) {
        // small bodies decode on the event loop, large ones in the worker: both ask first
        const sizes: number[] = [];
        const refused = await pool.decode(
          { signal: 'logs', encoding: 'json', coding: 'identity', body: logsBody(padding), limit: 2e6 },
          (size) => {
            sizes.push(size);
            return false;
          },
        );
        expect(refused).toMatchObject({ ok: false, busy: true });
        expect(sizes).toEqual([20 + padding]);
        // the worker starts for the large body only
        expect(await pool.heap()).toEqual(padding > INLINE_BYTES ? expect.anything() : undefined);
      }
      const gzipped = gzipSync(logsBody(500_000));
      const admitted = await pool.decode(
        { signal: 'logs', encoding: 'json', coding: 'gzip', body: gzipped, limit: 1e6 },
        () => true,
      );
      expect(admitted).toMatchObject({ ok: true, size: 500_020, logs: [] });
    } finally {
      await pool.close();
    }
  });

  it('sends a small compressed body that expands past the inline size to the worker', async () => {
    const pool = new DecodePool();
    try {
      const gzipped = gzipSync(logsBody(INLINE_BYTES * 2));
      expect(gzipped.byteLength).toBeLessThan(INLINE_BYTES / 8);
      const outcome = await pool.decode({
        signal: 'logs',
        encoding: 'json',
        coding: 'gzip',
        body: gzipped,
        limit: 4e6,
      });
      expect(outcome).toMatchObject({ ok: true, size: INLINE_BYTES * 2 + 20, logs: [] });
      expect(await pool.heap()).toBeDefined(); // the worker decoded it
    } finally {
      await pool.close();
    }
  });

  it('answers a zip bomb with too large, from the worker, without inflating past the limit', async () => {
    const pool = new DecodePool();
    try {
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 32));
      const outcome = await pool.decode({
        signal: 'logs',
        encoding: 'json',
        coding: 'gzip',
        body: bomb,
        limit: 1e6,
      });
      expect(outcome).toEqual({
        ok: false,
        tooLarge: true,
        message: 'the body is larger than the 1000000 bytes allowed after decompression',
      });
    } finally {
      await pool.close();
    }
  });

  it('turns a gzip body away by the size its trailer claims, before inflating it anywhere', async () => {
    const pool = new DecodePool();
    try {
      const gzipped = gzipSync(logsBody(INLINE_BYTES * 2));
      const sizes: number[] = [];
      const outcome = await pool.decode(
        { signal: 'logs', encoding: 'json', coding: 'gzip', body: gzipped, limit: 4e6 },
        (size) => {
          sizes.push(size);
          return false;
        },
      );
      expect(outcome).toMatchObject({ ok: false, busy: true });
      expect(sizes).toEqual([INLINE_BYTES * 2 + 20]);
      expect(await pool.heap()).toBeUndefined(); // no worker was needed to inflate it
    } finally {
      await pool.close();
    }
  });

  it('takes a wrong size claim for what it is: zlib checks it, and the limit holds whatever it says', async () => {
    const pool = new DecodePool();
    try {
      // claims 10 bytes, expands to 2 MiB: inflating finds the trailer wrong, as any changed byte, and refuses it
      const understated = gzipSync(logsBody(INLINE_BYTES * 2));
      understated.writeUInt32LE(10, understated.length - 4);
      const wrong = await pool.decode(
        { signal: 'logs', encoding: 'json', coding: 'gzip', body: understated, limit: 4e6 },
        () => true,
      );
      expect(wrong).toEqual({ ok: false, message: 'the gzip body cannot be decompressed' });
      // a bomb that understates its size is stopped at the limit all the same
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 32));
      bomb.writeUInt32LE(100, bomb.length - 4);
      const stopped = await pool.decode(
        { signal: 'logs', encoding: 'json', coding: 'gzip', body: bomb, limit: 1e6 },
        () => true,
      );
      expect(stopped).toMatchObject({ ok: false, tooLarge: true });
    } finally {
      await pool.close();
    }
  });

  it.runIf(existsSync('/proc/thread-self'))(
    'decodes in a thread that runs after the event loop on a busy core (nice 10 below it, under any nice)',
    async () => {
      // the nice value this thread has (0, or what a `nice npm test` gave it): the decoder's thread starts from it
      const own = () => niceIn(readFileSync('/proc/thread-self/stat', 'utf8'));
      const loop = own();
      const pool = new DecodePool();
      try {
        const before = threadNices();
        const outcome = await pool.decode({
          signal: 'logs',
          encoding: 'json',
          coding: 'identity',
          body: logsBody(INLINE_BYTES + 10),
          limit: 4e6,
        });
        expect(outcome).toMatchObject({ ok: true });
        expect(await pool.heap()).toBeDefined(); // the worker decoded it
        // one thread that was not there before runs BACKGROUND_NICE below this one (by id: the unit files share this
        // process, and a thread of an earlier file, the index refresh's folder listing say, may still be ending; other
        // new threads, a thread pool's, start at this thread's nice)
        const lowered = [...threadNices()].filter(([tid, nice]) => !before.has(tid) && nice > loop);
        expect(lowered.map(([, nice]) => nice)).toEqual([Math.min(19, loop + BACKGROUND_NICE)]);
        expect(own()).toBe(loop); // this thread as it was
      } finally {
        await pool.close();
      }
    },
  );
});
