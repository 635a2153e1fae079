// The dashboard in a real Chromium against the real server on loopback, over task folders written by the real
// exporters: the list and its filters, the task page (error, tool cards, live output), hostile content, the token
// prompt, and axe-core on every page. Screenshots at 1280x800 and 390x844 go to test-output/screenshots/.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import { recordSampleTask } from '../helpers/sample-task.ts';
import { launchBrowser, openPage, pagePool, screenshot, seriousViolations } from './browser.ts';
import { HOSTILE, recordHostileTask, recordJiraTask, startJiraTask } from './tasks.ts';

// every wait is for an event; the time limits are generous because CI machines may be busy
const TOKEN = 'dashboard-test-token-0123456789';
let dir: string;
let server: RunningServer;
let secured: RunningServer;
let browser: Browser;
let pages: ReturnType<typeof pagePool>;

async function serve(logsDir: string, env: Record<string, string> = {}) {
  const config = loadConfig({ env: { TASK_LOGS_DIR: logsDir, TASK_LOGS_FLUSH_MS: '10', PORT: '0', ...env } });
  return startServer(config, { followPollMs: 20, log: () => undefined });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'task-logs-dashboard-'));
  server = await serve(dir);
  const { tasks } = server.telemetry;
  await recordSampleTask(tasks, { taskId: 'task-done' });
  await recordSampleTask(tasks, { taskId: 'task-failed', fail: true });
  recordJiraTask(tasks, 'task-jira');
  recordHostileTask(tasks, 'task-hostile');
  await server.telemetry.forceFlush();
  browser = await launchBrowser();
  pages = pagePool(browser);
}, 120_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close();
  await secured?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const rowIds = (page: Page) =>
  page
    .locator('table.tasks tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task-id')).sort());

async function expectRows(page: Page, ids: string[]) {
  await expect.poll(() => rowIds(page), { timeout: 60_000 }).toEqual([...ids].sort());
}

describe('the task list', () => {
  it('shows the tasks the exporters wrote, with counts per status, at both sizes, with no serious axe violation', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { page, problems } = await pages.get(size);
      await page.goto(server.url);
      await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira']);
      await expect.poll(() => page.getByRole('button', { name: /^failed/ }).textContent()).toContain('1');
      await screenshot(page, 'tasks');
      // the same DOM at both sizes: one axe run per page keeps the file quick
      if (size === 'laptop') expect(await seriousViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
    }
  }, 90_000); // two page loads, two screenshots and an axe run: generous on a busy machine

  it('puts each filter in the URL and shows only the rows that match it', async () => {
    const { page } = await pages.get();
    await page.goto(server.url);
    await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira']);

    await page.getByRole('button', { name: /^failed/ }).click();
    await expect.poll(() => page.url()).toContain('status=failed');
    await expectRows(page, ['task-failed']);
    await page.getByRole('button', { name: /^All/ }).click();
    await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira']);

    await page.getByRole('button', { name: 'More filters and sort' }).click();
    const cases: [string, (p: Page) => Promise<unknown>, string, string[]][] = [
      ['Provider', (p) => p.getByLabel('Provider').fill('jira'), 'provider=jira', ['task-jira']],
      ['Agent', (p) => p.getByLabel('Agent').fill('fixer'), 'agent=fixer', ['task-jira']],
      [
        'Model',
        (p) => p.getByLabel('Model').fill('claude-sonnet-4-5-20250929'),
        'model=claude-sonnet',
        ['task-jira'],
      ],
      ['Result', (p) => p.getByLabel('Result').selectOption('false'), 'success=false', ['task-failed']],
      ['Cost at least ($)', (p) => p.getByLabel('Cost at least ($)').fill('1'), 'min_cost=1', ['task-jira']],
      [
        'Cost at most ($)',
        (p) => p.getByLabel('Cost at most ($)').fill('0.015'),
        'max_cost=0.015',
        ['task-failed', 'task-hostile'],
      ],
      [
        'Tokens at least',
        (p) => p.getByLabel('Tokens at least').fill('10000'),
        'min_tokens=10000',
        ['task-jira'],
      ],
      [
        'Tokens at most',
        (p) => p.getByLabel('Tokens at most').fill('100'),
        'max_tokens=100',
        ['task-failed', 'task-hostile'],
      ],
      [
        'Created from',
        (p) => p.getByLabel('Created from').fill('2099-01-01'),
        'created_after=2099-01-01',
        [],
      ],
      [
        'Created before',
        (p) => p.getByLabel('Created before').fill('2000-01-01'),
        'created_before=2000-01-01',
        [],
      ],
    ];
    for (const [label, set, inUrl, ids] of cases) {
      await set(page);
      await page.getByLabel(label).press('Tab');
      await expect.poll(() => decodeURIComponent(page.url()), { message: label }).toContain(inUrl);
      await expectRows(page, ids);
      if (ids.length === 0) await page.getByText('No task matches these filters').waitFor();
      await page.getByRole('link', { name: 'Clear all filters' }).click();
      await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira']);
    }
    await page.getByLabel('Sort by').selectOption('cost_usd');
    await expect.poll(() => page.url()).toContain('sort=cost_usd');
    await expect
      .poll(async () => await page.locator('table.tasks tbody tr').first().getAttribute('data-task-id'))
      .toBe('task-jira');
  });

  it('keeps what is typed in a filter while the list refreshes and the suggestions arrive', async () => {
    const { page } = await pages.get();
    await page.goto(server.url);
    await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira']);
    // the list polls the API on its own: wait for two of its refreshes after the typing, with the focus still there
    const refreshes = async () => {
      for (let i = 0; i < 2; i++) await page.waitForResponse((r) => /\/api\/tasks\?/.test(r.url()));
    };
    const suggestions = page.waitForResponse((r) => r.url().includes('/api/tasks/aggregate'));
    await page.getByRole('button', { name: 'More filters and sort' }).click();
    await page.getByLabel('Cost at least ($)').fill('1');
    await suggestions;
    await refreshes();
    expect(await page.getByLabel('Cost at least ($)').inputValue()).toBe('1');
    expect(page.url()).not.toContain('min_cost=');
    await page.getByLabel('Cost at least ($)').press('Tab'); // leaving the box commits it
    await expect.poll(() => page.url(), { timeout: 60_000 }).toContain('min_cost=1');

    await page.getByLabel('Provider').fill('jir');
    await refreshes();
    expect(await page.getByLabel('Provider').inputValue()).toBe('jir');
    expect(await page.getByLabel('Cost at least ($)').inputValue()).toBe('1');
    await page.getByLabel('Provider').press('End');
    await page.getByLabel('Provider').pressSequentially('a');
    await page.getByLabel('Provider').press('Enter'); // so does Enter
    await expect.poll(() => decodeURIComponent(page.url()), { timeout: 60_000 }).toContain('provider=jira');
    await expectRows(page, ['task-jira']);
    // and a new value in the URL replaces the drafts
    await page.getByRole('link', { name: 'Clear all filters' }).click();
    await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira']);
    await expect.poll(() => page.getByLabel('Provider').inputValue()).toBe('');
    await expect.poll(() => page.getByLabel('Cost at least ($)').inputValue()).toBe('');
  });

  it('shows every task id of a length at one width, so a row with a long model name fits at laptop width', async () => {
    // walk9: with the 29-character ids (c59daea) a row was 8 px wider than the 1280 px page, so the list scrolled;
    // how wide an id was depended on its letters. Ids of the narrowest and the widest letters must take the same
    // width (true in any monospace face, so whatever fonts the machine has), and the widest one's row must fit.
    const wide = await mkdtemp(join(tmpdir(), 'task-logs-wide-'));
    const other = await serve(wide);
    const ids = [`task-${'i'.repeat(24)}`, `task-${'w'.repeat(24)}`];
    for (const taskId of ids) {
      // the figures of the demo's task in that walk
      const task = other.telemetry.tasks.start({ taskId, source: 'webhook', provider: 'github' });
      const run = task.startAgent({ name: 'brain', type: 'planning', model: 'claude-sonnet-4-5-20250929' });
      run.finish({
        result: 'done',
        costUsd: 0.0734,
        usage: { inputTokens: 74_078, outputTokens: 1_130 },
        durationSeconds: 0.523,
      });
    }
    await other.telemetry.forceFlush();
    const { page } = await pages.get('laptop');
    await page.goto(other.url);
    await expectRows(page, ids);
    const widths = await page
      .locator('table.tasks tbody tr td:first-child a')
      .evaluateAll((links) => links.map((a) => a.getBoundingClientRect().width));
    expect(widths).toHaveLength(2);
    expect(widths[0]).toBeGreaterThan(0);
    expect(widths[1]).toBe(widths[0]);
    const wrap = await page
      .locator('.table-wrap')
      .evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(wrap.scroll).toBeLessThanOrEqual(wrap.client);
    await page.goto('about:blank'); // the page stops polling the server before it closes
    await other.close();
    await rm(wide, { recursive: true, force: true });
  });

  it('says how to get tasks when there are none', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'task-logs-empty-'));
    const other = await serve(empty);
    const { page } = await pages.get();
    await page.goto(other.url);
    await page.getByText('No tasks yet: run npm run demo').waitFor();
    await page.goto('about:blank'); // the page stops polling the server before it closes
    await other.close();
    await rm(empty, { recursive: true, force: true });
  });
});

describe('the task page', () => {
  it('shows a failed task with its error, at both sizes, with no serious axe violation', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { page, problems } = await pages.get(size);
      await page.goto(`${server.url}/#/task/task-failed`);
      await page.getByRole('alert').filter({ hasText: 'Agent crashed: out of budget' }).waitFor();
      await page.locator('.out-error').filter({ hasText: 'Agent crashed: out of budget' }).first().waitFor();
      await screenshot(page, 'task-failed');
      // the same DOM at both sizes: one axe run per page keeps the file quick
      if (size === 'laptop') expect(await seriousViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
    }
  }, 90_000); // two page loads, two screenshots and an axe run: generous on a busy machine

  it('shows each tool call as a card with its input and its result', async () => {
    const { page } = await pages.get();
    await page.goto(`${server.url}/#/task/task-jira`);
    const bash = page.getByRole('article', { name: 'Bash call' });
    await bash.locator('pre.terminal').filter({ hasText: '$ npm test -- login' }).waitFor();
    await bash.getByText('expected 200, got 500').waitFor();
    await expect.poll(() => bash.getAttribute('class')).toContain('card-error');
    const edit = page.getByRole('article', { name: 'Edit call' });
    await edit.locator('.del').filter({ hasText: 'const retries = 1;' }).waitFor();
    await edit.locator('.add').filter({ hasText: 'const retries = 3;' }).waitFor();
    await edit.getByText('has been updated').waitFor();
    await page.getByText('jira PROJ-7').waitFor();
    await page.locator('.markdown strong').filter({ hasText: 'retries' }).waitFor();
    await screenshot(page, 'task-tools');
  });

  it('puts each waterfall duration just after its bar, never over one, even at the right edge', async () => {
    // a task folder written by hand, so the times are exact: short tool calls near the end of a long agent run
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + ms).toISOString();
    const folder = join(dir, 'task-waterfall');
    await mkdir(folder);
    const meta = { task_id: 'task-waterfall', source: 'webhook', provider: 'github', created_at: at(0) };
    await writeFile(
      join(folder, 'metadata.json'),
      JSON.stringify({ ...meta, started_at: at(0), status: 'completed', assigned_agent: 'brain' }),
    );
    await writeFile(join(folder, '01-input.json'), JSON.stringify({ message: 'go', source_metadata: {} }));
    await writeFile(
      join(folder, '02-webhook-flow.jsonl'),
      `${JSON.stringify({ timestamp: at(0), stage: 'received', duration_ms: 2 })}\n`,
    );
    const calls = [
      [100, 400],
      [900, 910],
      [960, 980],
    ];
    const lines = calls.flatMap(([from, to], i) => [
      { timestamp: at(from!), type: 'tool_call', content: 'x', tool_name: `T${i}`, tool_call_id: `c${i}` },
      { timestamp: at(to!), type: 'tool_result', content: 'ok', tool_call_id: `c${i}`, is_error: false },
    ]);
    await writeFile(
      join(folder, '03-agent-output.jsonl'),
      lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
    );
    await writeFile(
      join(folder, '04-final-result.json'),
      JSON.stringify({ success: true, result: 'done', error: null, metrics: {}, completed_at: at(1000) }),
    );
    const { page } = await pages.get();
    await page.goto(`${server.url}/#/task/task-waterfall`);
    const rows = page.locator('.waterfall .wf-row:not(.wf-axis)');
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(5);
    const boxes = await rows.evaluateAll((all) =>
      all.map((row) => {
        const bar = row.querySelector('.wf-bar')!.getBoundingClientRect();
        const time = row.querySelector('.wf-time')!.getBoundingClientRect();
        const track = row.querySelector('.wf-track')!.getBoundingClientRect();
        const overlap = Math.max(0, Math.min(bar.right, time.right) - Math.max(bar.left, time.left));
        return {
          label: row.querySelector('.wf-label')!.textContent,
          overlap,
          outside: time.right - track.right,
        };
      }),
    );
    // no duration covers any part of a bar (the agent's bar ends at the last moment), and none leaves the track
    for (const box of boxes) {
      expect(box.overlap, `${box.label} covers its bar`).toBeLessThanOrEqual(0.5);
      expect(box.outside, `${box.label} leaves the track`).toBeLessThanOrEqual(0.5);
    }
    await screenshot(page, 'task-waterfall');
  });

  it('ends a tool call the task never saw end at the end of the task, not at the present moment', async () => {
    // a task ended as interrupted (its worker killed) while a tool call was open: the call's bar ran on to "now", so
    // the waterfall grew by the minute (16 minutes for a 6 s run, every other bar squeezed to nothing)
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + ms).toISOString();
    const folder = join(dir, 'task-cut-off');
    await mkdir(folder);
    await writeFile(
      join(folder, 'metadata.json'),
      JSON.stringify({
        task_id: 'task-cut-off',
        source: 'webhook',
        provider: 'github',
        created_at: at(0),
        started_at: at(0),
        status: 'failed',
        assigned_agent: 'brain',
      }),
    );
    await writeFile(join(folder, '01-input.json'), JSON.stringify({ message: 'go', source_metadata: {} }));
    await writeFile(
      join(folder, '02-webhook-flow.jsonl'),
      `${JSON.stringify({ timestamp: at(0), stage: 'received', duration_ms: 2 })}\n`,
    );
    const lines = [
      { timestamp: at(100), type: 'tool_call', content: 'x', tool_name: 'Done', tool_call_id: 'c0' },
      { timestamp: at(300), type: 'tool_result', content: 'ok', tool_call_id: 'c0', is_error: false },
      { timestamp: at(900), type: 'tool_call', content: 'x', tool_name: 'Open', tool_call_id: 'c1' },
      { timestamp: at(1000), type: 'error', content: 'interrupted: process 1 on vm is gone' },
    ];
    await writeFile(
      join(folder, '03-agent-output.jsonl'),
      lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
    );
    await writeFile(
      join(folder, '04-final-result.json'),
      JSON.stringify({
        success: false,
        result: null,
        error: 'interrupted: process 1 on vm is gone',
        metrics: { cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_seconds: 0 },
        completed_at: at(1000),
      }),
    );
    const { page } = await pages.get();
    await page.goto(`${server.url}/#/task/task-cut-off`);
    const rows = page.locator('.waterfall .wf-row:not(.wf-axis)');
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(4);
    const open = page.locator('.waterfall .wf-row', { hasText: 'Open' });
    // 900 ms to the task's end at 1000 ms, drawn as cut short (failed), not as running
    expect(await open.locator('.wf-time').textContent()).toBe('100 ms');
    expect(await open.locator('.wf-bar').getAttribute('class')).toContain('wf-error');
    expect(await page.locator('.waterfall .wf-axis .wf-tick').last().textContent()).toBe('1.0 s');
    // and its card in the output says it got no result, not that it runs
    const card = page.locator('article.card', { hasText: 'Open' });
    await expect.poll(() => card.locator('.state').textContent(), { timeout: 60_000 }).toBe('no result');
  });

  it('finds text inside collapsed thinking and opens it', async () => {
    const { page } = await pages.get();
    await page.goto(`${server.url}/#/task/task-done`);
    await page.getByRole('button', { name: /Thinking/ }).waitFor();
    expect(await page.getByText('Looking at the queue first.').count()).toBe(0);
    await page.getByLabel('Find in the output').fill('queue first');
    await page.getByLabel('Find in the output').press('Enter');
    await expect.poll(() => page.url()).toContain('find=queue');
    await page.locator('mark').filter({ hasText: 'queue first' }).waitFor();
    await page.getByText('1 of 1').waitFor();
  });

  it("shows a running task's new output line without a reload", async () => {
    const { task, run } = startJiraTask(server.telemetry.tasks, 'task-live');
    run.text('first line');
    await server.telemetry.forceFlush();
    const { page, problems } = await pages.get();
    await page.goto(`${server.url}/#/task/task-live`);
    await page.getByText('first line').waitFor();
    await page.getByText('running', { exact: true }).first().waitFor();
    run.text('a line written while the page is open');
    await page.getByText('a line written while the page is open').waitFor({ timeout: 60_000 });
    run.finish({ result: 'done', costUsd: 0.1 });
    await page.locator('.task-head .badge-completed').waitFor({ timeout: 60_000 });
    expect(problems.filter((p) => !p.includes('404'))).toEqual([]);
    void task;
  });
});

describe('hostile task content', () => {
  it('shows every field as text: no script runs, no dialog opens, no javascript: link', async () => {
    const { page, problems, dialogs } = await pages.get();
    await page.goto(`${server.url}/#/task/task-hostile`);
    await page.getByText(HOSTILE.text).waitFor();
    await page.getByText(`$ ${HOSTILE.command}`).waitFor();
    await page.getByText(HOSTILE.result).waitFor();
    await page.locator('.markdown strong').filter({ hasText: 'bold' }).waitFor();
    await page.getByRole('button', { name: /Thinking/ }).click();
    await page.getByText(HOSTILE.thinking).waitFor();
    const markdown = page.locator('.markdown');
    expect(await markdown.locator('script, img, div[onclick], svg').count()).toBe(0);
    expect(await markdown.getByText('raw html block').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
    await markdown.getByText('bad one').click();
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(await page.locator('#app script, #app img').count()).toBe(0);
    await screenshot(page, 'task-hostile');
    await page.goto(server.url);
    await page.locator('[data-task-id="task-hostile"]').waitFor();
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('serves the page with a strict Content-Security-Policy', async () => {
    const response = await fetch(`${server.url}/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(await (await fetch(`${server.url}/assets/vendor/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/assets/vendor/preact.mjs`)).status).toBe(200);
  });
});

describe('the other pages', () => {
  it('shows costs per day and per provider, at both sizes, with no serious axe violation', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { page, problems } = await pages.get(size);
      await page.goto(`${server.url}/#/costs?by=provider`);
      await page.locator('table.aggregates th[scope=row]').filter({ hasText: 'jira' }).waitFor();
      await page.locator('.chart canvas').first().waitFor();
      await screenshot(page, 'costs');
      // the same DOM at both sizes: one axe run per page keeps the file quick
      if (size === 'laptop') expect(await seriousViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
    }
  }, 90_000); // two page loads, two screenshots and an axe run: generous on a busy machine
});

describe('a conversation', () => {
  it('lists its tasks in order with their summed cost and tokens, with no serious axe violation', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { page, problems } = await pages.get(size);
      await page.goto(`${server.url}/#/task/task-jira`);
      await page.getByRole('link', { name: 'jira:PROJ-7' }).click();
      await expect.poll(() => decodeURIComponent(page.url())).toContain('#/conversation/jira:PROJ-7');
      await expectRows(page, ['task-jira', 'task-live']);
      await page.getByText('$1.60').waitFor();
      await screenshot(page, 'conversation');
      if (size === 'laptop') expect(await seriousViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
    }
  }, 90_000); // two page loads, two screenshots and an axe run: generous on a busy machine
});

describe('with a token set', () => {
  it('asks for the token once, keeps it for the tab only, and then works', async () => {
    secured = await serve(dir, { TASK_LOGS_API_TOKEN: TOKEN, HOST: '127.0.0.1' });
    const { context, page, problems } = await openPage(browser);
    await page.goto(secured.url);
    await page.getByLabel('API token', { exact: true }).waitFor();
    await screenshot(page, 'token-prompt');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel('API token', { exact: true }).fill('wrong-token-wrong-token');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByText('The token was not accepted').waitFor();
    await page.getByLabel('API token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await expectRows(page, ['task-done', 'task-failed', 'task-hostile', 'task-jira', 'task-live']);
    await page.goto(`${secured.url}/#/task/task-jira`);
    await page.getByRole('article', { name: 'Edit call' }).waitFor();
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(TOKEN);
    expect(await page.evaluate(() => JSON.stringify(sessionStorage))).toContain(TOKEN);
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    await context.close();
  });
});
