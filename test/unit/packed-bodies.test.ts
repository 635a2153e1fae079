import { describe, expect, it } from 'vitest';
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { DecodePool, INLINE_BYTES } from '../../src/ingest/decode-pool.ts';
import type { PlainLogRecord } from '../../src/ingest/otlp-decode.ts';
import { OtlpIngest } from '../../src/ingest/otlp-ingest.ts';
import { PACK_MIN_UNITS, packBodies, unpackBody } from '../../src/ingest/packed-bodies.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { outputLines } from '../helpers/writer-items.ts';

const long = (unit: string) => unit.repeat(Math.ceil(PACK_MIN_UNITS / unit.length) + 1);
const record = (body: unknown): PlainLogRecord => ({
  time: [1_700_000_000, 0],
  attributes: { 'task.id': 'task-packed' },
  body,
  traceId: undefined,
  spanId: undefined,
  key: 'l0',
  taskId: 'task-packed',
});

describe('large text bodies packed as UTF-8 bytes by the decode worker', () => {
  it('packs only long, well-formed text into one buffer, and unpacks it to the same text', () => {
    const texts = [long('a'), long('é😀€'), long('x')];
    const kept = ['short', long('\uD800a'), { kv: long('a') }, undefined, 42];
    const logs = [...texts, ...kept].map(record);
    const buffer = packBodies(logs);
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    for (let i = 0; i < texts.length; i++) {
      const body = logs[i]!.body as Uint8Array;
      expect(body).toBeInstanceOf(Uint8Array);
      expect(body.buffer).toBe(buffer);
      expect(unpackBody(body)).toBe(texts[i]);
    }
    // a lone surrogate would come back as U+FFFD: left as a string, like short text and other values
    expect(logs.slice(texts.length).map((log) => log.body)).toEqual(kept);
    expect(packBodies(kept.map(record))).toBeUndefined();
    expect(unpackBody('as it is')).toBe('as it is');
  });

  it('reach the event loop as bytes from a request decoded in the worker, and are written as the text sent', async () => {
    const bodies = [long('agent output '), long('é😀€'), long('\uD800z'), 'short'];
    const request = {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: bodies.map((text, i) => ({
                timeUnixNano: String(1_700_000_000_000_000_000n + BigInt(i)),
                body: { stringValue: text },
                attributes: [
                  { key: 'task.id', value: { stringValue: 'task-packed' } },
                  { key: 'task.output.type', value: { stringValue: 'text' } },
                ],
              })),
            },
          ],
        },
      ],
    };
    // whitespace past the inline size: decoded in the worker
    const json = `${JSON.stringify(request)}${' '.repeat(INLINE_BYTES)}`;
    const pool = new DecodePool();
    const root = await tempLogsDir();
    const writer = new TaskFileWriter({ root, flushMs: 5, report: () => {} });
    try {
      const outcome = await pool.decode({
        signal: 'logs',
        encoding: 'json',
        coding: 'identity',
        body: new TextEncoder().encode(json),
        limit: 4e6,
      });
      if (!outcome.ok) throw new Error(outcome.message);
      expect(await pool.heap()).toBeDefined(); // the worker decoded it
      expect(outcome.logs.map((log) => log.body instanceof Uint8Array)).toEqual([true, true, false, false]);
      const taken = new OtlpIngest(writer, { maxQueue: 1024 }).take(outcome);
      expect(taken).toMatchObject({ kind: 'taken', rejected: 0 });
      if (taken.kind === 'taken') await taken.written;
      expect(outputLines(root, 'task-packed')).toEqual(bodies);
    } finally {
      await writer.shutdown();
      await pool.close();
    }
  });
});
