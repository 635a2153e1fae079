// Small helpers shared by the benchmarks: temp folders, percentiles, quick mode, progress, and the one-line result
// format with its targets (each printed with PASS or MISS).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `npm run bench -- --quick` sets BENCH_QUICK=1: every benchmark runs a tenth of its work, for a one-minute check. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** n in a full run, a tenth of it (at least `min`) in quick mode. */
export function scaled(n: number, min = 1): number {
  return QUICK ? Math.max(min, Math.round(n / 10)) : n;
}

export function benchDir(name: string, parent = tmpdir()): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(parent, `task-logs-bench-${name}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: ArrayLike<number>) => percentile(values, 50);

export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A target a figure is held to: what it says, and whether the figure meets it. */
export type Target = { text: string; pass: boolean };

/** `label >= min`, e.g. atLeast('ours/pino', ratio, 2.5, 'x'). */
export function atLeast(label: string, value: number, min: number, unit = '', digits = 2): Target {
  return { text: `${label} ${fmt(value, digits)}${unit} >= ${fmt(min, digits)}${unit}`, pass: value >= min };
}

/** `label <= max` (or `< max` with strict), e.g. atMost('p99', ms, 50, ' ms'). */
export function atMost(label: string, value: number, max: number, unit = '', digits = 2): Target {
  return { text: `${label} ${fmt(value, digits)}${unit} <= ${fmt(max, digits)}${unit}`, pass: value <= max };
}

/**
 * Prints one result line, then one `target: ... PASS|MISS` line per target. `npm run bench` counts the MISS lines.
 * A line with no target says so, so a reader never wonders whether one was forgotten.
 */
export function report(line: string, ...targets: Target[]): void {
  let out = `${line}\n`;
  if (targets.length === 0) out += '    (no target: for information)\n';
  for (const target of targets) out += `    target ${target.text}  ${target.pass ? 'PASS' : 'MISS'}\n`;
  process.stdout.write(out);
}

/** A progress line for long benchmarks, on a terminal only (stderr), overwritten in place. */
export function progress(message: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r\x1b[2K  ${message}`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
}
