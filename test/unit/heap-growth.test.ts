import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/ops/heap-growth.ts';

describe('the server heap growth', () => {
  it('is 1.5x unless Node was started with its own', () => {
    expect(HEAP_GROWING_PERCENT).toBe(50);
    expect(heapGrowthFlag([])).toBe('--heap-growing-percent=50');
    expect(heapGrowthFlag(['--max-semi-space-size=8'])).toBe('--heap-growing-percent=50');
    expect(heapGrowthFlag(['--heap-growing-percent=100'])).toBeUndefined();
    expect(heapGrowthFlag(['--heap_growing_percent=20'])).toBeUndefined();
    expect(heapGrowthFlag(['--heap-growing-percent', '30'])).toBeUndefined();
  });

  it('is a flag this Node takes at run time (it is not allowed in NODE_OPTIONS, so the server sets it itself)', () => {
    const script = `import('${join(import.meta.dirname, '../../src/ops/heap-growth.ts')}').then((m) => { m.limitHeapGrowth([]); process.stdout.write('set'); })`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('set');
    // an unknown flag would be reported on stderr by V8: this one is known
    const known = spawnSync(process.execPath, ['--heap-growing-percent=50', '-e', ''], { encoding: 'utf8' });
    expect(known.status).toBe(0);
    expect(known.stderr).toBe('');
  });

  it('runs beside 8 MB semi-spaces in both processes that run agents: npm start and npm run worker (README, Memory)', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    for (const script of ['start', 'worker']) {
      expect(pkg.scripts[script]).toMatch(/^exec node --max-semi-space-size=8 src\/[a-z-]+\.ts$/);
    }
  });
});
