// Debian's Chromium driven by playwright-core for the dashboard tests: one launch per file, screenshots at a laptop
// and a phone size into test-output/screenshots/, and axe-core's accessibility check run inside the page.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const SCREENSHOT_DIR = join(import.meta.dirname, '../../test-output/screenshots');

export const SIZES = {
  laptop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export interface OpenPage {
  context: BrowserContext;
  page: Page;
  problems: string[];
  dialogs: string[];
}

/** A page at one size; every console error and uncaught page error is collected in `problems`. */
export async function openPage(
  browser: Browser,
  size: keyof typeof SIZES = 'laptop',
  options: { colorScheme?: 'light' | 'dark' } = {},
): Promise<OpenPage> {
  const context = await browser.newContext({
    viewport: SIZES[size],
    colorScheme: options.colorScheme ?? (size === 'phone' ? 'dark' : 'light'),
  });
  // every wait is for an event: its limit is only a safety net for a busy CI machine (Playwright's default is 30 s)
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, problems, dialogs };
}

/**
 * One page per size for a file's tests, each test getting it on a blank document with its problems and dialogs
 * emptied, so that its first navigation is a whole page load. A new page in a new context starts a renderer process,
 * 1-2 s on a busy machine; a test that needs a storage of its own (a token) opens its own page.
 */
export function pagePool(browser: Browser): {
  get: (size?: keyof typeof SIZES) => Promise<OpenPage>;
  close: () => Promise<void>;
} {
  const pages = new Map<keyof typeof SIZES, OpenPage>();
  return {
    async get(size = 'laptop') {
      let open = pages.get(size);
      if (open === undefined) {
        open = await openPage(browser, size);
        pages.set(size, open);
      } else {
        await open.page.goto('about:blank');
        open.problems.length = 0;
        open.dialogs.length = 0;
      }
      return open;
    },
    async close() {
      for (const open of pages.values()) await open.context.close();
      pages.clear();
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const { width, height } = page.viewportSize() ?? SIZES.laptop;
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}x${height}.png`) });
}

const AXE = readFileSync(join(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page, as "rule: target" lines (empty when there are none) */
export async function seriousViolations(page: Page): Promise<string[]> {
  // evaluated through the DevTools protocol, which the page's Content-Security-Policy does not restrict
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<unknown> } }
    ).axe;
    const result = (await axe.run((globalThis as unknown as { document: unknown }).document, {
      resultTypes: ['violations'],
    })) as {
      violations: { id: string; impact: string; nodes: { target: unknown[] }[] }[];
    };
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.targets).slice(0, 300)}`);
}
