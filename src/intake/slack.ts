// Slack deliveries: the Events API (url_verification, app_mention) as JSON, and slash commands as a form. The
// acknowledgement is a threaded message (Events API) or the slash command's own ephemeral reply.
import type { Config } from '../config.ts';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { type AckResult, type Delivery, postAck } from './intake.ts';
import { obj, parseJsonObject, str } from './payload.ts';
import { SLACK_CHANNEL, SLACK_TEAM, SLACK_TS } from './provider-grammar.ts';

export type SlackParse =
  | { kind: 'challenge'; challenge: string }
  | { kind: 'delivery'; delivery: Delivery; slashCommand: boolean }
  | { kind: 'ignored'; reason: string; eventType: string };

export function parseSlack(
  contentType: string,
  body: Buffer,
  slack: Config['webhooks']['slack'],
): SlackParse {
  if (contentType.startsWith('application/x-www-form-urlencoded')) return parseSlashCommand(body);
  const payload = parseJsonObject(body);
  if (payload.type === 'url_verification') {
    const challenge = str(payload.challenge);
    if (!challenge) throw new TaskLogsError('REQUEST_INVALID', 'url_verification without a challenge');
    return { kind: 'challenge', challenge };
  }
  if (payload.type !== 'event_callback') {
    return {
      kind: 'ignored',
      reason: 'event_not_handled',
      eventType: String(payload.type ?? 'unknown').slice(0, 64),
    };
  }
  const event = obj(payload.event);
  const eventType = `event_callback.${String(event.type ?? 'unknown').slice(0, 64)}`;
  if (event.type !== 'app_mention') return { kind: 'ignored', reason: 'event_not_handled', eventType };
  if (event.bot_id !== undefined) return { kind: 'ignored', reason: 'bot_sender', eventType };
  const eventId = str(payload.event_id);
  if (!eventId || !/^[A-Za-z0-9]{1,64}$/.test(eventId)) {
    throw new TaskLogsError('REQUEST_INVALID', `event_id ${quote(eventId)} is missing or malformed`);
  }
  const channel = str(event.channel);
  const ts = str(event.thread_ts) ?? str(event.ts);
  const team = str(payload.team_id);
  // channel and thread go into the acknowledgement sent with the bot token: checked before use
  if (channel === undefined || !SLACK_CHANNEL.test(channel)) {
    throw new TaskLogsError(
      'REQUEST_INVALID',
      `event.channel ${quote(channel ?? event.channel)} is not a Slack channel id`,
    );
  }
  if (ts !== undefined && !SLACK_TS.test(ts)) {
    throw new TaskLogsError('REQUEST_INVALID', `event.ts ${quote(ts)} is not a Slack timestamp`);
  }
  if (team !== undefined && !SLACK_TEAM.test(team)) {
    throw new TaskLogsError('REQUEST_INVALID', `team_id ${quote(team)} is not a Slack team id`);
  }
  const user = str(event.user);
  // Slack writes a mention as <@U123>: read it as "@agent" so the configured phrases match
  const text = (str(event.text) ?? '').replace(/<@[A-Z0-9]+>/g, '@agent');
  const delivery: Delivery = {
    provider: 'slack',
    deliveryId: eventId,
    eventType,
    text,
    sourceMetadata: {
      provider: 'slack',
      event_type: eventType,
      webhook_id: eventId,
      repo: null,
      issue_number: null,
      ...(team ? { team } : {}),
      ...(channel ? { channel } : {}),
      ...(user ? { user } : {}),
      ...(ts ? { thread_ts: ts } : {}),
    },
    context: `Slack mention in channel ${channel ?? '?'}${team ? ` of team ${team}` : ''}`,
    acknowledge: (taskId): Promise<AckResult> => {
      if (!slack.botToken)
        return Promise.resolve({ action: 'message', status: 'skipped', detail: 'no SLACK_BOT_TOKEN' });
      return postAck(
        'message',
        `${slack.apiUrl.replace(/\/$/, '')}/chat.postMessage`,
        { authorization: `Bearer ${slack.botToken}` },
        { channel, thread_ts: ts, text: `:eyes: On it: task ${taskId}` },
        // Slack answers 200 with ok:false on errors
        (status, json) => status === 200 && obj(json).ok === true,
      );
    },
  };
  return { kind: 'delivery', delivery, slashCommand: false };
}

function parseSlashCommand(body: Buffer): SlackParse {
  const form = new URLSearchParams(body.toString('utf8'));
  const command = form.get('command') ?? '';
  const triggerId = form.get('trigger_id') ?? '';
  if (!/^\/[\w-]{1,32}$/.test(command)) {
    throw new TaskLogsError('REQUEST_INVALID', `slash command ${quote(command)} is missing or malformed`);
  }
  if (!/^[\w.-]{1,128}$/.test(triggerId)) {
    throw new TaskLogsError('REQUEST_INVALID', `trigger_id ${quote(triggerId)} is missing or malformed`);
  }
  const eventType = `slash_command.${command.slice(1)}`;
  const team = form.get('team_id');
  const channel = form.get('channel_id');
  const user = form.get('user_id');
  if (channel !== null && !SLACK_CHANNEL.test(channel)) {
    throw new TaskLogsError('REQUEST_INVALID', `channel_id ${quote(channel)} is not a Slack channel id`);
  }
  if (team !== null && !SLACK_TEAM.test(team)) {
    throw new TaskLogsError('REQUEST_INVALID', `team_id ${quote(team)} is not a Slack team id`);
  }
  const delivery: Delivery = {
    provider: 'slack',
    deliveryId: triggerId,
    eventType,
    // "/agent review the retry logic" reads as "@agent review the retry logic"
    text: `@${command.slice(1)} ${form.get('text') ?? ''}`.trim(),
    sourceMetadata: {
      provider: 'slack',
      event_type: eventType,
      webhook_id: triggerId,
      repo: null,
      issue_number: null,
      ...(team ? { team } : {}),
      ...(channel ? { channel } : {}),
      ...(user ? { user } : {}),
    },
    context: `Slack ${command} in channel ${channel ?? '?'}`,
    // the HTTP answer to the command is the acknowledgement Slack shows
    acknowledge: () => Promise.resolve({ action: 'ephemeral_reply', status: 'sent' }),
  };
  return { kind: 'delivery', delivery, slashCommand: true };
}
