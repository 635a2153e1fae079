// The reliability acceptance of #10 at a size that fits `npm test`; `npm run torture` runs the long versions. The
// kill -9 children start from a V8 startup snapshot (test/torture/kill-snapshot.ts), near the cost of a bare Node.
import { describe, expect, it } from 'vitest';
import { appendTorture } from '../torture/append-torture.ts';
import { faultSweep } from '../torture/fault-sweep.ts';
import { describeKillTorture, killTorture } from '../torture/kill-torture.ts';

describe('reliability under torture (small)', () => {
  it('200 kill -9 of a process writing in-process and over OTLP: JSON files are written versions, JSONL lines whole, flushed lines kept, nothing left running, repair leaves no torn line', async () => {
    const summary = await killTorture({ kills: 200, parallel: 3 });
    console.info(describeKillTorture(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.kills).toBe(200);
    // the kills landed while both doors were writing: lines were reported flushed and JSON versions checked
    expect(summary.flushedLinesChecked).toBeGreaterThan(200);
    expect(summary.jsonFilesChecked).toBeGreaterThan(200);
    expect(summary.interruptedEnded).toBeGreaterThan(0);
  }, 900_000);

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
