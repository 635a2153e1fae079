// The dashboard in Chromium: time to the first row of the task list with 100,000 tasks indexed, time to the first
// output line and the page's JS heap for a task with 100,000 output lines, and emit-to-visible latency of a live line.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../src/config.ts';
import { createApp } from '../../src/http/app.ts';
import { startServer } from '../../src/http/server.ts';
import { TaskIndex } from '../../src/store/task-index.ts';
import { TaskStore } from '../../src/store/task-store.ts';
import { launchBrowser } from '../browser/browser.ts';
import { atMost, benchDir, fmt, median, percentile, QUICK, report, scaled } from './bench-kit.ts';

const TASKS = scaled(100_000, 5_000);
const LINES = scaled(100_000, 5_000);
const LIVE_LINES = scaled(200, 40);

// runs in the page (as a string: this project type-checks without the DOM library)
const NOTE_LINES_AS_THEY_APPEAR = `
  globalThis.seen = {};
  new MutationObserver(() => {
    for (const pre of document.querySelectorAll('.vlist pre')) {
      const match = /^emit (\\d+) at (\\d+)$/.exec(pre.textContent ?? '');
      if (match && globalThis.seen[match[1]] === undefined) globalThis.seen[match[1]] = Date.now() - Number(match[2]);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
`;

const browser = await launchBrowser();
const { dir, cleanup } = benchDir('dashboard');
try {
  await listWithManyTasks();
  await pageWithManyLines();
} finally {
  await browser.close();
  cleanup();
}

async function timeTo(page: Page, url: string, selector: string): Promise<number> {
  const started = performance.now();
  await page.goto(url);
  await page.locator(selector).first().waitFor({ timeout: 30_000 });
  return performance.now() - started;
}

async function listWithManyTasks(): Promise<void> {
  const index = new TaskIndex(join(dir, 'list-index.sqlite'));
  const day = Date.parse('2026-11-01T00:00:00Z');
  const statuses = ['completed', 'completed', 'completed', 'failed', 'running'];
  index.upsertMany(
    (function* () {
      for (let i = 0; i < TASKS; i++) {
        const created = new Date(day + i * 1000).toISOString();
        yield [
          `task-${String(i).padStart(7, '0')}`,
          {
            metadata: {
              status: statuses[i % 5] as 'completed',
              source: 'webhook',
              provider: ['github', 'jira', 'slack'][i % 3]!,
              assigned_agent: 'brain',
              agent_type: 'planning',
              model: 'claude-opus-4-5-20251101',
              created_at: created,
              started_at: created,
            },
            finalResult: {
              success: i % 5 !== 3,
              completed_at: created,
              metrics: {
                cost_usd: (i % 100) / 100,
                input_tokens: i % 5000,
                output_tokens: i % 700,
                duration_seconds: 3,
              },
            },
          },
        ] as const;
      }
    })(),
  );
  const app = createApp({ store: new TaskStore(join(dir, 'no-tasks')), index, logError: () => undefined });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await timeTo(page, `${url}/?warm-up`, 'table.tasks tbody tr'); // modules compiled and cached, as on a second visit
  const times: number[] = [];
  for (let i = 0; i < 7; i++) times.push(await timeTo(page, `${url}/?round=${i}#/`, 'table.tasks tbody tr'));
  const filtered = await timeTo(
    page,
    `${url}/?f#/?status=failed&provider=jira&sort=cost_usd`,
    'table.tasks tbody tr',
  );
  report(
    `task list, ${fmt(TASKS)} tasks indexed: first row in median ${fmt(median(times))} ms (worst ${fmt(Math.max(...times))} ms), filtered and sorted by cost ${fmt(filtered)} ms`,
    atMost('time to first row', median(times), 500, ' ms', 0),
  );
  await context.close();
  await new Promise((resolve) => server.close(resolve));
  index.close();
}

async function pageWithManyLines(): Promise<void> {
  const config = loadConfig({ env: { TASK_LOGS_DIR: join(dir, 'tasks'), PORT: '0' } });
  const server = await startServer(config, { log: () => undefined });
  try {
    const { tasks } = server.telemetry;
    const big = tasks.start({ taskId: 'task-big', source: 'webhook', provider: 'github' });
    const bigRun = big.startAgent({ name: 'brain', model: 'claude-opus-4-5-20251101' });
    for (let i = 0; i < LINES; i++) {
      if (i % 1000 === 500) {
        bigRun.toolResult(
          bigRun.toolCall({ name: 'Bash', input: { command: `ls -la dir-${i}` } }),
          `out ${i}\n`.repeat(5),
        );
      } else {
        bigRun.text(
          `line ${i}: the agent reads a file and says something about it, about this long on average`,
        );
      }
      if (i % 5000 === 0) await server.telemetry.forceFlush(); // the writer's queue holds 65,536 events
    }
    bigRun.finish({ result: 'done', costUsd: 1 });
    const small = tasks.start({ taskId: 'task-small', source: 'webhook', provider: 'github' });
    const smallRun = small.startAgent({ name: 'brain' });
    for (let i = 0; i < 10; i++) smallRun.text(`line ${i}`);
    smallRun.finish({ result: 'done' });
    await server.telemetry.forceFlush();

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await timeTo(page, `${server.url}/?warm-up#/task/task-big`, '.vrow'); // modules cached
    const firstLine = await timeTo(page, `${server.url}/?cold#/task/task-big`, '.vrow');
    const total = LINES + Math.floor(LINES / 1000); // each tool card is two lines
    const started = performance.now();
    await page.getByText(`${fmt(total)} lines`).waitFor({ timeout: 120_000 });
    const allLoaded = performance.now() - started + firstLine;
    // to the end and back: the rows there must render
    const scrollStarted = performance.now();
    await page.locator('.vlist').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.getByText(`line ${LINES - 1}:`).waitFor();
    const scrollMs = performance.now() - scrollStarted;
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = (await cdp.send('Performance.getMetrics')) as {
      metrics: { name: string; value: number }[];
    };
    const heap = (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 2 ** 20;
    // the same measure on a 10-line task, for comparison
    const smallFirstLine = await timeTo(page, `${server.url}/?small#/task/task-small`, '.vrow');
    report(
      `task page, ${fmt(LINES)} output lines: first line ${fmt(firstLine)} ms (a 10-line task: ${fmt(smallFirstLine)} ms), all loaded ${fmt(allLoaded)} ms, scroll to the end ${fmt(scrollMs)} ms, JS heap ${fmt(heap, 1)} MB`,
      atMost('time to first output line', firstLine, 1000, ' ms', 0),
      atMost('JS heap', heap, 150, ' MB', 1),
    );
    await context.close();

    // live: each line carries its emit time; the page notes when it appears
    const live = tasks.start({ taskId: 'task-live', source: 'webhook', provider: 'github' });
    const run = live.startAgent({ name: 'brain' });
    run.text('started');
    await server.telemetry.forceFlush();
    const livePage = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await livePage.goto(`${server.url}/#/task/task-live`);
    await livePage.getByText('started').waitFor();
    await livePage.evaluate(NOTE_LINES_AS_THEY_APPEAR);
    for (let i = 0; i < LIVE_LINES; i++) {
      run.text(`emit ${i} at ${Date.now()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await livePage.getByText(`emit ${LIVE_LINES - 1} at`).waitFor({ timeout: 30_000 });
    const seen = await livePage.evaluate(
      () => (globalThis as unknown as { seen: Record<string, number> }).seen,
    );
    const latencies = Object.values(seen);
    run.finish({ result: 'done' });
    report(
      `live line, emit to visible: ${latencies.length} of ${LIVE_LINES} lines seen, p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms (flush 50 ms + follow poll 100 ms + render)`,
      atMost('p99 emit to visible', percentile(latencies, 99), 1000, ' ms', 0),
    );
    await livePage.context().close();
  } finally {
    await server.close();
  }
}

if (QUICK) process.stdout.write('    (quick mode: a tenth of the tasks and lines)\n');
