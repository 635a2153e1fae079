import { describe, expect, it } from 'vitest';
import { SeenItems } from '../../src/ingest/seen-items.ts';

describe('SeenItems', () => {
  it('takes an identity once per task, and again after it is forgotten', () => {
    const seen = new SeenItems();
    expect(seen.add('task-a', 's1')).toBe(true);
    expect(seen.add('task-a', 's1')).toBe(false);
    expect(seen.add('task-b', 's1')).toBe(true);
    seen.forget('task-a', 's1');
    expect(seen.add('task-a', 's1')).toBe(true);
  });

  it('stays within its budget, forgetting the tasks touched longest ago first', () => {
    const seen = new SeenItems({ maxItems: 4 });
    seen.add('task-old', 'a');
    seen.add('task-old', 'b');
    seen.add('task-new', 'a');
    seen.add('task-old', 'c'); // task-old is now the most recently touched
    seen.add('task-third', 'a'); // over budget: task-new (touched longest ago) goes
    expect(seen.size).toBeLessThanOrEqual(4);
    expect(seen.add('task-old', 'a')).toBe(false);
    expect(seen.add('task-new', 'a')).toBe(true);
  });

  it('trims a single task that is over the budget alone, oldest identities first', () => {
    const seen = new SeenItems({ maxItems: 3 });
    for (const key of ['1', '2', '3', '4', '5']) seen.add('task-big', key);
    expect(seen.size).toBe(3);
    expect(seen.add('task-big', '5')).toBe(false);
    expect(seen.add('task-big', '1')).toBe(true);
  });
});
