// The dashboard: its one HTML page at "/", its modules and styles from src/dashboard/static under /assets/app/, and
// the front-end packages it uses from node_modules under fixed /assets/vendor/ URLs, each file named in an
// allow-list (never a path taken from the request). Every answer carries a strict Content-Security-Policy.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { packageFile } from '../contract/package-files.ts';
import { strictRouter } from './strict-router.ts';

// shipped as files beside src/ (the package lists them), not compiled into dist/
const STATIC_DIR = packageFile('src', 'dashboard', 'static');

/** URL name -> package, file inside it, and the bare imports rewritten to the URLs of this list */
const VENDOR: Record<string, { pkg: string; file: string; rewrite?: [string, string][] }> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'preact-hooks.mjs': {
    pkg: 'preact',
    file: 'hooks/dist/hooks.mjs',
    rewrite: [['from"preact"', 'from"./preact.mjs"']],
  },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs' },
  'marked.mjs': { pkg: 'marked', file: 'lib/marked.esm.js' },
  'purify.mjs': { pkg: 'dompurify', file: 'dist/purify.es.mjs' },
  'uplot.mjs': { pkg: 'uplot', file: 'dist/uPlot.esm.js' },
  'uplot.css': { pkg: 'uplot', file: 'dist/uPlot.min.css' },
};

const TYPES: Record<string, string> = {
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// no inline script or style, no eval, nothing from another origin; API calls go to this server only
const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

const asset = (type: string, body: Buffer): Asset => ({
  type,
  body,
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
});

// revalidated on every visit (no-cache), answered 304 while unchanged
function send(ctx: Context, { type, body, etag }: Asset): void {
  securityHeaders(ctx);
  ctx.set('Cache-Control', 'no-cache');
  ctx.type = type;
  ctx.etag = etag;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = body;
}

function typeOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : TYPES[name.slice(dot)];
}

// where Node would find a package from this file (node_modules of this folder and every parent)
function packageDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  for (const base of require.resolve.paths(pkg) ?? []) {
    const dir = join(base, pkg);
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      // not in this node_modules: try the next one up
    }
  }
  throw new Error(`the dashboard needs the npm package ${pkg}: run npm install`);
}

function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(STATIC_DIR, { withFileTypes: true })) {
    const type = typeOf(entry.name);
    if (!entry.isFile() || type === undefined || entry.name === 'index.html') continue;
    assets.set(`/assets/app/${entry.name}`, asset(type, readFileSync(join(STATIC_DIR, entry.name))));
  }
  for (const [name, { pkg, file, rewrite }] of Object.entries(VENDOR)) {
    let text = readFileSync(join(packageDir(pkg), file), 'utf8');
    for (const [from, to] of rewrite ?? []) {
      if (!text.includes(from)) throw new Error(`${pkg}/${file}: expected ${from} to rewrite`);
      text = text.replaceAll(from, to);
    }
    assets.set(`/assets/vendor/${name}`, asset(typeOf(name)!, Buffer.from(text)));
  }
  return assets;
}

function securityHeaders(ctx: Context): void {
  ctx.set({
    'Content-Security-Policy': DASHBOARD_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

export interface DashboardOptions {
  /** where Jira issues live, so the task page can link to one */
  jiraBaseUrl?: string | undefined;
}

export function dashboardRoutes(options: DashboardOptions = {}): Router {
  const assets = loadAssets();
  const page = asset('text/html; charset=utf-8', readFileSync(join(STATIC_DIR, 'index.html')));
  const router = strictRouter();
  // under /api, so it needs the token like every other data route
  router.get('/api/dashboard/settings', (ctx) => {
    ctx.body = { jira_base_url: options.jiraBaseUrl ?? null };
  });
  router.get('/', (ctx) => send(ctx, page));
  router.get('/assets/:kind/:name', (ctx) => {
    const found = assets.get(ctx.path);
    if (found !== undefined) send(ctx, found); // otherwise the fallback answers 404
  });
  return router;
}
