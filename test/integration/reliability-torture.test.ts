// The reliability acceptance of #10 at a size that fits `npm test` (each kill starts a fresh Node process, about a
// second on a quiet machine: 4 kills here, any number with `npm run torture -- N`).
import { describe, expect, it } from 'vitest';
import { appendTorture } from '../torture/append-torture.ts';
import { faultSweep } from '../torture/fault-sweep.ts';
import { killTorture } from '../torture/kill-torture.ts';

describe('reliability under torture (small)', () => {
  it('kill -9 at random points: whole files, every flushed line kept, repair leaves no torn line, nothing left running', async () => {
    const summary = await killTorture({ kills: 4 });
    console.info(
      `kill -9 torture: ${summary.kills} kills, ${summary.tasks} tasks, ${summary.flushedLinesChecked} flushed lines checked, ` +
        `${summary.tornTailsFound} torn last lines repaired, ${summary.interruptedEnded} interrupted tasks ended`,
    );
    expect(summary.failures).toEqual([]);
    expect(summary.flushedLinesChecked).toBeGreaterThan(0);
  }, 120_000);

  it('fails every file operation of each writer scenario in turn: no throw, no corrupt file, counted, recovered', async () => {
    const sweep = await faultSweep({ codes: ['EIO', 'SHORT_WRITE'] });
    console.info(`I/O fault sweep: ${sweep.scenarios} scenarios, ${sweep.faultsInjected} faults injected`);
    expect(sweep.failures).toEqual([]);
    expect(sweep.faultsInjected).toBeGreaterThan(sweep.scenarios / 2);
  }, 120_000);

  it('three processes appending lines of 10 B to 64 KiB to one task interleave none and lose none', async () => {
    const result = await appendTorture({ processes: 3, linesEach: 400 });
    expect(result.failures).toEqual([]);
    expect(result.lines).toBe(1200);
  }, 60_000);
});
