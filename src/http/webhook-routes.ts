// POST /webhooks/github, /webhooks/slack, /webhooks/jira: raw body with a size limit, the signature checked over it
// before anything is parsed, then the shared intake. Every refusal is counted (no folder per request).
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import { parseGithub } from '../intake/github.ts';
import type { IntakeOutcome, IntakeTimings, Provider, WebhookIntake } from '../intake/intake.ts';
import { parseJira } from '../intake/jira.ts';
import { checkHubSignature, checkSlackSignature, type SignatureCheck } from '../intake/signatures.ts';
import { parseSlack } from '../intake/slack.ts';
import { BodyBudget } from './body-budget.ts';
import { isClientGone } from './client-gone.ts';
import { STATUS_BY_CODE } from './errors-as-json.ts';
import { readRawBody } from './raw-body.ts';
import { strictRouter } from './strict-router.ts';

const REASON_BY_CODE: Partial<Record<string, string>> = {
  PAYLOAD_TOO_LARGE: 'body_too_large',
  REQUEST_INVALID: 'malformed',
  WEBHOOK_NOT_CONFIGURED: 'not_configured',
  QUEUE_UNAVAILABLE: 'queue_unavailable',
};

export function webhookRoutes(config: Config, intake: WebhookIntake): Router {
  const router = strictRouter('/webhooks');
  const limit = config.webhooks.maxBodyBytes;
  // the receivers are public (the signature is checked once the body is in): bodies held at once stay within one limit
  const budget = new BodyBudget(limit);

  /** Runs one provider's handler; anything refused is recorded with a reason before the error answer goes out. */
  const receive =
    (provider: Provider, handle: (ctx: Context, body: Buffer, timings: IntakeTimings) => Promise<void>) =>
    async (ctx: Context) => {
      const receivedAt = Date.now();
      try {
        const body = await readRawBody(ctx.req, limit, budget);
        const timings = {
          receivedAt,
          bodyReadAt: Date.now(),
          validatedAt: 0,
          bytes: body.length,
          method: '',
        };
        await handle(ctx, body, timings);
      } catch (error) {
        const gone = isClientGone(error);
        const reason =
          error instanceof TaskLogsError
            ? ((error as TaskLogsError & { reason?: string }).reason ??
              REASON_BY_CODE[error.code] ??
              error.code.toLowerCase())
            : gone
              ? 'client_gone'
              : 'internal';
        intake.rejections.record({
          provider,
          reason,
          status: error instanceof TaskLogsError ? STATUS_BY_CODE[error.code] : gone ? 400 : 500,
          ...(ctx.ip ? { remote: ctx.ip } : {}),
        });
        const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
        if (typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter));
        throw error;
      }
    };

  const validated = (timings: IntakeTimings, check: SignatureCheck, method: string) => {
    if (!check.ok) {
      throw Object.assign(new TaskLogsError('SIGNATURE_INVALID', `signature check failed: ${check.reason}`), {
        reason: check.reason,
      });
    }
    timings.validatedAt = Date.now();
    timings.method = method;
  };

  const answer = (ctx: Context, outcome: IntakeOutcome) => {
    if (outcome.kind === 'queued') {
      ctx.status = 202;
      ctx.body = { task_id: outcome.taskId, status: 'queued' };
    } else if (outcome.kind === 'duplicate') {
      ctx.status = 200;
      ctx.body = { task_id: outcome.taskId, status: 'duplicate' };
    } else {
      ctx.status = 200;
      ctx.body = { status: 'ignored', reason: outcome.reason };
    }
  };

  const ignored = (ctx: Context, provider: Provider, reason: string, eventType: string) => {
    intake.rejections.record({ provider, reason, status: 200, event_type: eventType });
    ctx.status = 200;
    ctx.body = { status: 'ignored', reason };
  };

  router.post(
    '/github',
    receive('github', async (ctx, body, timings) => {
      const secret = config.webhooks.github.secret;
      if (secret === undefined) throw notConfigured('GITHUB_WEBHOOK_SECRET');
      validated(
        timings,
        checkHubSignature(secret, body, ctx.get('X-Hub-Signature-256') || undefined),
        'hmac-sha256',
      );
      const parsed = parseGithub(
        { event: ctx.get('X-GitHub-Event'), delivery: ctx.get('X-GitHub-Delivery') },
        body,
        config.webhooks.github,
      );
      if (parsed.kind === 'pong') {
        ctx.body = { status: 'pong' };
        return;
      }
      if (parsed.kind === 'ignored') return ignored(ctx, 'github', parsed.reason, parsed.eventType);
      answer(ctx, await intake.process(parsed.delivery, timings, body));
    }),
  );

  router.post(
    '/slack',
    receive('slack', async (ctx, body, timings) => {
      const secret = config.webhooks.slack.signingSecret;
      if (secret === undefined) throw notConfigured('SLACK_SIGNING_SECRET');
      validated(
        timings,
        checkSlackSignature(
          secret,
          body,
          ctx.get('X-Slack-Request-Timestamp') || undefined,
          ctx.get('X-Slack-Signature') || undefined,
        ),
        'slack-v0',
      );
      const parsed = parseSlack(ctx.get('Content-Type'), body, config.webhooks.slack);
      if (parsed.kind === 'challenge') {
        ctx.body = { challenge: parsed.challenge };
        return;
      }
      if (parsed.kind === 'ignored') return ignored(ctx, 'slack', parsed.reason, parsed.eventType);
      const outcome = await intake.process(parsed.delivery, timings, body);
      if (!parsed.slashCommand) return answer(ctx, outcome);
      // a slash command's answer is shown to the user: say what happened, in Slack's format
      ctx.status = 200;
      ctx.body =
        outcome.kind === 'ignored'
          ? { response_type: 'ephemeral', text: 'No command recognised.', status: 'ignored' }
          : {
              response_type: 'ephemeral',
              text: `On it: task ${outcome.taskId}`,
              task_id: outcome.taskId,
              status: outcome.kind === 'queued' ? 'queued' : 'duplicate',
            };
    }),
  );

  router.post(
    '/jira',
    receive('jira', async (ctx, body, timings) => {
      const secret = config.webhooks.jira.secret;
      if (secret === undefined) throw notConfigured('JIRA_WEBHOOK_SECRET');
      validated(
        timings,
        checkHubSignature(secret, body, ctx.get('X-Hub-Signature') || undefined),
        'hmac-sha256',
      );
      const parsed = parseJira(
        { identifier: ctx.get('X-Atlassian-Webhook-Identifier') },
        body,
        config.webhooks.jira,
      );
      if (parsed.kind === 'ignored') return ignored(ctx, 'jira', parsed.reason, parsed.eventType);
      answer(ctx, await intake.process(parsed.delivery, timings, body));
    }),
  );

  return router;
}

function notConfigured(variable: string): TaskLogsError {
  return new TaskLogsError('WEBHOOK_NOT_CONFIGURED', `this receiver is off: set ${variable} to turn it on`);
}
