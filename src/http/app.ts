// The Koa application: one error middleware first, the token check (deny by default), the routers (all strict and
// case-sensitive), and a fallback that answers 404 or 405 for anything no route took.
import type Router from '@koa/router';
import Koa from 'koa';
import type { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import type { WebhookIntake } from '../intake/intake.ts';
import type { TaskIndex } from '../store/task-index.ts';
import type { TaskStore } from '../store/task-store.ts';
import { isClientGone } from './client-gone.ts';
import { dashboardRoutes } from './dashboard-routes.ts';
import { errorsAsJson } from './errors-as-json.ts';
import { type OtlpRouteOptions, otlpRoutes } from './otlp-routes.ts';
import { requireToken } from './require-token.ts';
import { routeFallback } from './route-fallback.ts';
import { isStrictRouter, strictRouter } from './strict-router.ts';
import { summaryRoutes } from './summary-routes.ts';
import { taskRoutes } from './task-routes.ts';
import { closeUnreadBodies } from './unread-body.ts';
import { webhookRoutes } from './webhook-routes.ts';

export interface AppOptions {
  store: TaskStore;
  index: TaskIndex;
  /** when set, every route that public-routes.ts does not name needs "Authorization: Bearer <token>" */
  apiToken?: string | undefined;
  followPollMs?: number;
  /** where unexpected (500) errors are logged */
  logError?: (error: unknown) => void;
  /** whether this server writes task files (TASK_LOGS_ENABLED), shown by /healthz */
  logging?: boolean;
  /** the writer behind the OTLP ingest (/v1/traces, /v1/logs); without one, the ingest answers 503 */
  writer?: TaskFileWriter | undefined;
  /** the OTLP ingest's bounds (body size, requests at once, the writer's queue) */
  ingest?: OtlpRouteOptions;
  /** the OTLP ingest router, when it is shared with the separate ingest listener (one budget, one dedupe memory) */
  otlp?: Router;
  /** the webhook receivers, when the server takes webhooks */
  webhooks?: { config: Config; intake: WebhookIntake };
}

export function createApp(options: AppOptions): Koa {
  const app = newApp(options.logError);
  if (options.apiToken !== undefined) app.use(requireToken(options.apiToken));
  const { mount, routers } = mounter(app);

  const health = strictRouter();
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok', logging: options.logging ?? true };
  });
  if (options.webhooks !== undefined) {
    const { config, intake } = options.webhooks;
    mount(webhookRoutes(config, intake));
    health.get('/api/webhooks/rejections', (ctx) => {
      ctx.body = intake.rejections.snapshot();
    });
  }
  mount(health);
  mount(options.otlp ?? otlpRoutes(options.writer, options.ingest));
  mount(
    taskRoutes({
      store: options.store,
      index: options.index,
      ...(options.followPollMs ? { followPollMs: options.followPollMs } : {}),
    }),
  );
  mount(summaryRoutes(options.index));
  mount(dashboardRoutes({ jiraBaseUrl: options.webhooks?.config.webhooks.jira.baseUrl }));
  app.use(routeFallback(routers));
  return app;
}

export interface IngestAppOptions {
  /** the bearer token the Collector sends; none on a loopback-only listener */
  token: string | undefined;
  /** the same router the API listener mounts */
  otlp: Router;
  logError?: (error: unknown) => void;
}

/**
 * The separate ingest listener (OTLP_INGEST_PORT): the same error handling, token check and OTLP router as the API
 * listener, and nothing else. Every request needs the token (no route here is public); other paths are a 404.
 */
export function createIngestApp(options: IngestAppOptions): Koa {
  const app = newApp(options.logError);
  if (options.token !== undefined) app.use(requireToken(options.token, () => false));
  const { mount, routers } = mounter(app);
  mount(options.otlp);
  app.use(routeFallback(routers));
  return app;
}

function newApp(logError: ((error: unknown) => void) | undefined): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged below, once, without Koa's default stack dump
  const log = logError ?? ((error: unknown) => console.error('task-logs: unexpected error:', error));
  app.on('error', (error: unknown, ctx?: Koa.Context) => {
    if (isClientGone(error)) return; // a follower or uploader that hung up is not an error
    // a streamed body that fails after its headers went out (a task deleted by retention while /full streams it) is
    // cut short by Koa; a coded error of ours there is one line in the log, not a stack
    if (ctx?.headerSent && error instanceof TaskLogsError) {
      log(`response to ${ctx.method} ${ctx.path.slice(0, 200)} cut short: ${error.code}: ${error.message}`);
      return;
    }
    if (ctx !== undefined && error instanceof TaskLogsError) {
      log(`${ctx.method} ${ctx.path.slice(0, 200)} answered ${ctx.status}: ${error.code}: ${error.message}`);
      return;
    }
    log(error);
  });
  app.use(closeUnreadBodies); // wraps the error middleware: sees every answer, errors too
  app.use(errorsAsJson);
  return app;
}

function mounter(app: Koa): { mount: (router: Router) => void; routers: Router[] } {
  const routers: Router[] = [];
  const mount = (router: Router) => {
    // one spelling per route: the token check and the routers must agree on what a path is
    if (!isStrictRouter(router)) {
      throw new Error(
        `router ${router.opts.prefix ?? '/'} is not strict and case-sensitive: make it with strictRouter()`,
      );
    }
    routers.push(router);
    app.use(router.routes());
  };
  return { mount, routers };
}
