import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { completeMetadata, mergeMetadata } from '../../exporters/metadata-merge.ts';
import { TASK_STATUSES } from '../../src/contract/task-status.ts';

const RANK = { queued: 1, running: 2, completed: 3, failed: 3, rejected: 3 } as const;

describe('mergeMetadata', () => {
  it('never moves the status backwards, in any order of reports', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TASK_STATUSES), { minLength: 1, maxLength: 8 }), (statuses) => {
        let merged = {};
        let highest = 0;
        for (const status of statuses) {
          merged = mergeMetadata(merged, { status });
          const rank = RANK[(merged as { status: keyof typeof RANK }).status];
          if (rank < highest) return false;
          highest = rank;
        }
        return true;
      }),
    );
  });

  it("merges the newer patch's own keys in their order, and never keys it inherits", () => {
    const newer = JSON.parse('{"source":"webhook","model":"m","provider":"gitlab"}');
    const merged = mergeMetadata({ provider: 'github', created_at: '2026-01-01T00:00:00.000Z' }, newer);
    expect(Object.keys(merged)).toEqual(['provider', 'created_at', 'source', 'model']);
    expect(merged.provider).toBe('gitlab');
    const inherited = Object.assign(Object.create({ model: 'from the prototype' }), { source: 'webhook' });
    expect(mergeMetadata(undefined, inherited)).toEqual({ source: 'webhook' });
    expect(Object.hasOwn(mergeMetadata(undefined, inherited), 'model')).toBe(false);
  });

  it('keeps the first final status: failed then completed stays failed', () => {
    expect(mergeMetadata({ status: 'failed' }, { status: 'completed' }).status).toBe('failed');
  });

  it('keeps the first created_at and started_at, and fills fields that were unknown', () => {
    const merged = mergeMetadata(
      { created_at: '2024-01-01T00:00:00.000Z', model: null, status: 'queued' },
      { created_at: '2025-01-01T00:00:00.000Z', started_at: '2024-01-01T00:00:01.000Z', model: 'claude' },
    );
    expect(merged).toEqual({
      created_at: '2024-01-01T00:00:00.000Z',
      started_at: '2024-01-01T00:00:01.000Z',
      model: 'claude',
      status: 'queued',
    });
  });

  it('gives the same answer when a patch is applied twice', () => {
    const patch = { status: 'running' as const, started_at: '2024-01-01T00:00:01.000Z', model: 'm' };
    const once = mergeMetadata({ status: 'queued' }, patch);
    expect(mergeMetadata(once, patch)).toEqual(once);
  });

  it('lets a run that started after an interruption take the task up again, and nothing else', () => {
    const interrupted = {
      status: 'failed' as const,
      started_at: '2024-01-01T01:00:00.000Z',
      completed_at: '2024-01-01T01:00:00.000Z',
      interrupted_at: '2024-01-01T01:00:00.000Z',
    };
    // the queue ran the job after all
    const resumed = mergeMetadata(interrupted, { status: 'running', started_at: '2024-01-01T01:05:00.000Z' });
    expect(resumed).toEqual({ status: 'running', started_at: '2024-01-01T01:05:00.000Z' });
    const done = mergeMetadata(resumed, {
      status: 'completed',
      started_at: '2024-01-01T01:05:00.000Z',
      completed_at: '2024-01-01T01:06:00.000Z',
    });
    expect(done).toMatchObject({ status: 'completed', completed_at: '2024-01-01T01:06:00.000Z' });
    // a report of a run that began before the interruption, or of a task that was never interrupted, does not
    expect(
      mergeMetadata(interrupted, { status: 'running', started_at: '2024-01-01T00:59:00.000Z' }).status,
    ).toBe('failed');
    expect(
      mergeMetadata({ status: 'failed' }, { status: 'running', started_at: '2024-01-01T01:05:00.000Z' })
        .status,
    ).toBe('failed');
    expect(mergeMetadata(done, { status: 'running', started_at: '2024-01-01T01:07:00.000Z' }).status).toBe(
      'completed',
    );
  });
});

describe('completeMetadata', () => {
  it('writes every seed field in the seed order, null when unknown', () => {
    const file = completeMetadata(
      'task-1',
      { status: 'queued', trace_id: 'abc' },
      '2024-01-01T00:00:00.000Z',
    );
    expect(Object.keys(file)).toEqual([
      'task_id',
      'source',
      'provider',
      'created_at',
      'started_at',
      'status',
      'assigned_agent',
      'agent_type',
      'model',
      'trace_id',
      'updated_at',
    ]);
    expect(file.model).toBeNull();
  });
});
