import { describe, expect, it } from 'vitest';
import { type IndexedFiles, TaskIndex } from '../../src/store/task-index.ts';

// what the index holds before the flush: nothing, an earlier status, an earlier result
const before: IndexedFiles[] = [
  {},
  { metadata: { status: 'running', created_at: '2026-01-01T00:00:00.000Z', conversation_id: 'conv-1' } },
  {
    metadata: { status: 'completed', completed_at: '2026-01-01T00:00:09.000Z' },
    finalResult: { success: false, completed_at: '2026-01-01T00:00:08.000Z' },
  },
  { finalResult: { success: true, metrics: { cost_usd: 1, input_tokens: 5 } as never } },
  // a newer state than some of the metadata below (a run started): those are left out, the result still recorded
  {
    metadata: { status: 'running', started_at: '2026-01-01T00:00:01.000Z', model: 'r' },
    folderMtimeMs: 7,
  },
];
const metadatas: NonNullable<IndexedFiles['metadata']>[] = [
  { status: 'completed', source: 'webhook', provider: 'github', created_at: '2026-01-01T00:00:00.000Z' },
  { status: 'failed', completed_at: '2026-01-01T00:00:05.000Z', conversation_id: 'conv-2', model: 'm' },
  { status: 'queued', created_at: '2026-01-01T00:00:00.000Z', model: 'q' },
];
const results: NonNullable<IndexedFiles['finalResult']>[] = [
  {
    success: true,
    completed_at: '2026-01-01T00:00:04.000Z',
    metrics: { cost_usd: 0.5, input_tokens: 10, output_tokens: 20, duration_seconds: 3 } as never,
  },
  { success: false },
];

describe('the task index, metadata and result of one flush', () => {
  it('writes the same row in one statement as the metadata upsert followed by the result upsert', () => {
    let n = 0;
    for (const prior of before)
      for (const metadata of metadatas)
        for (const finalResult of results) {
          const taskId = `task-${n++}`;
          const both = new TaskIndex(':memory:');
          const apart = new TaskIndex(':memory:');
          for (const index of [both, apart])
            if (prior.metadata || prior.finalResult) index.upsert(taskId, prior);
          both.upsert(taskId, { metadata, finalResult, folderMtimeMs: 9 });
          apart.upsert(taskId, { metadata, folderMtimeMs: 9 });
          apart.upsert(taskId, { finalResult, folderMtimeMs: 9 });
          expect(both.get(taskId)).toEqual(apart.get(taskId));
          expect(both.folderMtimesAfter('', 1)).toEqual(apart.folderMtimesAfter('', 1));
          both.close();
          apart.close();
        }
  });
});
