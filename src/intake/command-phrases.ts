// Commands: which phrase in a comment starts which agent. Loaded from a JSON file (TASK_COMMANDS_FILE), checked by
// zod at start-up; a comment without any phrase gets no task.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { quote, TaskLogsError } from '../contract/errors.ts';
import { packageFile } from '../contract/package-files.ts';

export const DEFAULT_COMMANDS_FILE = packageFile('config', 'commands.json');

const Command = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'a short lower-case name'),
  phrases: z.array(z.string().trim().min(2).max(100)).min(1),
  agent: z.string().min(1).max(100),
  agent_type: z.string().min(1).max(100).optional(),
  model: z.string().min(1).max(200).optional(),
  /** put before the comment's text when the agent is asked */
  prompt: z.string().max(10_000).optional(),
});
const CommandsFile = z.object({ commands: z.array(Command).min(1) }).strict();

export type CommandConfig = z.infer<typeof Command>;

export interface CommandMatch {
  command: CommandConfig;
  phrase: string;
  /** the text after the phrase, the request itself */
  request: string;
}

export class Commands {
  readonly list: readonly CommandConfig[];
  readonly #patterns: { command: CommandConfig; phrase: string; pattern: RegExp }[];

  constructor(list: CommandConfig[]) {
    this.list = list;
    this.#patterns = list.flatMap((command) =>
      command.phrases.map((phrase) => ({
        command,
        phrase,
        // the phrase as a whole word sequence, any case: "@agent review" but not "@agent reviewer"
        pattern: new RegExp(`(^|[^\\w@])${escapeRegExp(phrase)}(?![\\w-])`, 'i'),
      })),
    );
  }

  /** The first command whose phrase occurs in the text (earliest in the text wins), or undefined. */
  match(text: string): CommandMatch | undefined {
    let best: { at: number; match: CommandMatch } | undefined;
    for (const { command, phrase, pattern } of this.#patterns) {
      const found = pattern.exec(text);
      if (found === null) continue;
      const at = found.index + found[1]!.length;
      if (best !== undefined && best.at <= at) continue;
      best = { at, match: { command, phrase, request: text.slice(at + phrase.length).trim() } };
    }
    return best?.match;
  }
}

export function loadCommands(path: string = DEFAULT_COMMANDS_FILE): Commands {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TaskLogsError('CONFIG_INVALID', `commands file ${quote(path)} cannot be read as JSON`, {
      cause,
    });
  }
  const parsed = CommandsFile.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(top)'}: ${issue.message}`,
    );
    throw new TaskLogsError(
      'CONFIG_INVALID',
      `commands file ${quote(path)} is not valid:\n${details.join('\n')}`,
    );
  }
  return new Commands(parsed.data.commands);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
}
