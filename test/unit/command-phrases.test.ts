import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCommands } from '../../src/intake/command-phrases.ts';
import { tempLogsDir } from '../helpers/temp-dir.ts';

describe('the default commands', () => {
  const commands = loadCommands();

  it('map "@agent review" to agent brain, type planning', () => {
    expect(commands.match('Could you @agent review this PR?')).toMatchObject({
      command: { name: 'review', agent: 'brain', agent_type: 'planning' },
      phrase: '@agent review',
      request: 'this PR?',
    });
  });

  it('match any case and spacing, but not inside a longer word', () => {
    expect(commands.match('@Agent  REVIEW now')?.command.name).toBe('review');
    expect(commands.match('@agent reviewer please')).toBeUndefined();
    expect(commands.match('email@agent review')).toBeUndefined();
  });

  it('give no command for a comment without one', () => {
    expect(commands.match('LGTM, merging')).toBeUndefined();
    expect(commands.match('')).toBeUndefined();
  });

  it('take the command that comes first in the text', () => {
    expect(commands.match('@agent fix this, then @agent review it')?.command.name).toBe('fix');
  });
});

describe('loadCommands', () => {
  it('refuses an invalid file, naming each problem', async () => {
    const dir = await tempLogsDir();
    const file = join(dir, 'commands.json');
    await writeFile(file, JSON.stringify({ commands: [{ name: 'Bad Name', phrases: [], agent: '' }] }));
    expect(() => loadCommands(file)).toThrow(
      /is not valid:\n {2}commands\.0\.name: a short lower-case name\n {2}commands\.0\.phrases: /,
    );
    await writeFile(file, '{ not json');
    expect(() => loadCommands(file)).toThrow(/cannot be read as JSON/);
  });
});
