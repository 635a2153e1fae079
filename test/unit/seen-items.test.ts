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
    const seen = new SeenItems({ maxItems: 10 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) seen.add('task-old', key);
    for (const key of ['a', 'b', 'c']) seen.add('task-new', key);
    seen.add('task-old', 'f'); // task-old is now the most recently touched (9 identities in all)
    seen.add('task-third', 'a');
    seen.add('task-third', 'b'); // over budget: task-new (touched longest ago) goes, and that is enough
    expect(seen.size).toBe(8);
    expect(seen.add('task-old', 'a')).toBe(false);
    expect(seen.add('task-third', 'a')).toBe(false);
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
