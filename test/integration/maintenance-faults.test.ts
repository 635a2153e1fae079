// I/O faults under maintenance and under the writer's appends, failed at Node's file API (test/helpers/fs-faults.ts).
// A sample of the sweep runs here (every 6th operation, one errno or short write each, in turn); the whole matrix is
// `npm run torture -- --only faults`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../exporters/file-system.ts';
import { installFsFaults } from '../helpers/fs-faults.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';
import { maintenanceFaultSweep } from '../torture/maintenance-fault-sweep.ts';

describe('I/O faults in maintenance', () => {
  it('compress, prune and verify --repair: no throw, nothing lost or half done, errors reported, next run completes', async () => {
    const sweep = await maintenanceFaultSweep({ sample: 6 });
    console.info(
      `maintenance fault sweep (sample): ${sweep.scenarios} scenarios, ${sweep.faultsInjected} faults = ` +
        `${sweep.reported} reported + ${sweep.absorbed} absorbed by design + ${sweep.afterReported} after a ` +
        `persistent fault was reported`,
    );
    expect(sweep.failures).toEqual([]);
    // every fault accounted for: a fault neither reported nor absorbed where the design says so is a failure above
    expect(sweep.reported + sweep.absorbed + sweep.afterReported).toBe(sweep.faultsInjected);
    expect(sweep.scenarios).toBeGreaterThan(20);
    expect(sweep.reported).toBeGreaterThan(0);
  }, 120_000);

  it('a short append (the disk fills mid-line) leaves the file as it was, and the retry writes each line once', async () => {
    const root = await tempLogsDir();
    const path = join(root, '03-agent-output.jsonl');
    const old = '{"type":"text","content":"one"}\n{"type":"text","content":"two"}\n';
    writeFileSync(path, old);
    const lines = ['three', 'four', 'five'].map((c) => Buffer.from(`{"type":"text","content":"${c}"}\n`));
    const faults = await installFsFaults();
    try {
      faults.arm(1, 'SHORT_WRITE', 'transient', ['fd.write']);
      await expect(
        nodeFileSystem.append(path, [Buffer.concat(lines)], { sync: false }),
      ).rejects.toMatchObject({
        code: 'ENOSPC',
      });
      expect(faults.failed()).toEqual(['fd.write']);
      expect(readFileSync(path, 'utf8')).toBe(old);
      faults.clear();
      await nodeFileSystem.append(path, [Buffer.concat(lines)], { sync: false });
    } finally {
      faults.restore();
    }
    const contents = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l).content);
    expect(contents).toEqual(['one', 'two', 'three', 'four', 'five']);
  });
});
