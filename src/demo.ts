// `npm run demo`: with `npm start` running, sends a correctly signed sample GitHub issue_comment webhook carrying
// "@agent review", waits for the task to finish, and prints its id and the curl commands to read it.
import { randomUUID } from 'node:crypto';
import { loadConfig } from './config.ts';
import { endQuietlyWhenPipeCloses } from './contract/closed-pipe.ts';
import { TaskLogsError } from './contract/errors.ts';
import { fetchFailure } from './contract/fetch-failure.ts';
import { readDevSecret } from './intake/dev-secret.ts';
import { hubSignature } from './intake/signatures.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const config = loadConfig();
  const base = process.env.DEMO_URL ?? `http://127.0.0.1:${config.port}`;
  const secret = config.webhooks.github.secret ?? readDevSecret(config.logsDir);
  if (secret === undefined) {
    process.stderr.write(
      `demo: no GITHUB_WEBHOOK_SECRET, and no development secret from \`npm start\` in TASK_LOGS_DIR (${config.logsDir}) yet.\n` +
        'Start the server first (npm start), with the same TASK_LOGS_DIR, or set the same GITHUB_WEBHOOK_SECRET for both.\n',
    );
    return 2;
  }
  const payload = {
    action: 'created',
    issue: {
      number: 42,
      title: 'Retries give up too early',
      html_url: 'https://github.com/acme/agent-platform/issues/42',
    },
    comment: {
      id: Math.floor(Math.random() * 1e9),
      body: '@agent review the retry logic in src/queue-retry.ts, please',
      html_url: 'https://github.com/acme/agent-platform/issues/42#issuecomment-1',
      user: { login: 'octocat' },
    },
    repository: { full_name: 'acme/agent-platform' },
    sender: { login: 'octocat', type: 'User' },
  };
  const body = JSON.stringify(payload);
  const delivery = randomUUID();
  let response: Response;
  try {
    response = await fetch(`${base}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issue_comment',
        'x-github-delivery': delivery,
        'x-hub-signature-256': hubSignature(secret, body),
      },
      body,
    });
  } catch (error) {
    process.stderr.write(`demo: cannot reach ${base} (${fetchFailure(error)}): is \`npm start\` running?\n`);
    return 1;
  }
  const answer = (await response.json()) as {
    task_id?: string;
    status?: string;
    error?: { message: string };
  };
  say(`POST ${base}/webhooks/github (delivery ${delivery}) -> ${response.status} ${JSON.stringify(answer)}`);
  if (!answer.task_id) return 1;
  const taskId = answer.task_id;
  const health = (await (await fetch(`${base}/healthz`)).json()) as { logging?: boolean };
  if (health.logging === false) {
    say(
      `the server runs with TASK_LOGS_ENABLED=false: task ${taskId} runs, but no task files are written to follow`,
    );
    return 0;
  }
  const auth: Record<string, string> = config.apiToken ? { authorization: `Bearer ${config.apiToken}` } : {};
  const deadline = Date.now() + (config.agent.timeoutSeconds + 30) * 1000;
  let status = 'queued';
  const appearBy = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let metadata: Response;
    try {
      metadata = await fetch(`${base}/api/tasks/${taskId}/logs/metadata`, { headers: auth });
    } catch (error) {
      // the server stopped or was killed while the task ran: a running task is ended as interrupted at its next start
      process.stderr.write(
        `demo: lost ${base} while task ${taskId} was ${status} (${fetchFailure(error)}): did the server stop?\n`,
      );
      return 1;
    }
    if (metadata.status === 401) {
      // the receivers need no token, the API does: waiting cannot help
      process.stderr.write(
        `demo: the server's API needs its token (401) to follow task ${taskId}: set TASK_LOGS_API_TOKEN here to the server's token\n`,
      );
      return 1;
    }
    if (!metadata.ok && status === 'queued' && Date.now() > appearBy) {
      process.stderr.write(
        `demo: task ${taskId} has no metadata after 30 s (${metadata.status}): is the server writing?\n`,
      );
      return 1;
    }
    if (metadata.ok) {
      const next = ((await metadata.json()) as { status: string }).status;
      if (next !== status) say(`task ${taskId}: ${next}`);
      status = next;
      if (status === 'completed' || status === 'failed' || status === 'rejected') break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const h = config.apiToken ? ' -H "Authorization: Bearer $TASK_LOGS_API_TOKEN"' : '';
  say('');
  say(`task ${taskId} ${status}. Read it with:`);
  say(`  curl${h} ${base}/api/tasks/${taskId}/logs/metadata`);
  say(`  curl${h} ${base}/api/tasks/${taskId}/logs/full`);
  say(`  curl${h} ${base}/api/tasks/${taskId}/logs/agent-output`);
  say(`  ls ${config.logsDir}/${taskId}`);
  return status === 'completed' ? 0 : 1;
}

endQuietlyWhenPipeCloses(); // `npm run demo | head -1` is success
try {
  process.exitCode = await main();
} catch (error) {
  if (!(error instanceof TaskLogsError)) throw error;
  process.stderr.write(`demo: ${error.message}\n`);
  process.exitCode = 2;
}
