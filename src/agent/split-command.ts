// Splits a command line setting (AGENT_COMMAND) into program and arguments: spaces separate, quotes group,
// backslash escapes. No shell is involved, so nothing in a prompt can inject a command.
import { quote, TaskLogsError } from '../contract/errors.ts';

export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoteChar: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoteChar !== undefined) {
      if (c === quoteChar) quoteChar = undefined;
      else if (c === '\\' && quoteChar === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quoteChar = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quoteChar !== undefined)
    throw new TaskLogsError('CONFIG_INVALID', `command ${quote(line)} has an unclosed quote`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new TaskLogsError('CONFIG_INVALID', 'the agent command is empty');
  return words;
}
