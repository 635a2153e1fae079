// Picks the agent runner the settings ask for (AGENT_RUNNER; by default claude when installed, else replay).
import type { Config } from '../config.ts';
import { TaskLogsError } from '../contract/errors.ts';
import type { AgentRunner } from './agent-runner.ts';
import { ClaudeRunner, DEFAULT_CLAUDE_COMMAND } from './claude-runner.ts';
import { CommandRunner } from './command-runner.ts';
import { ReplayRunner } from './replay-runner.ts';
import { splitCommand } from './split-command.ts';

export function createRunner(config: Config): AgentRunner {
  const agent = config.agent;
  switch (agent.runner) {
    case 'claude':
      return new ClaudeRunner({
        argv: splitCommand(agent.command ?? DEFAULT_CLAUDE_COMMAND),
        timeoutSeconds: agent.timeoutSeconds,
        ...(agent.workdir ? { cwd: agent.workdir } : {}),
      });
    case 'command':
      if (agent.command === undefined) {
        throw new TaskLogsError(
          'CONFIG_INVALID',
          'AGENT_RUNNER=command needs AGENT_COMMAND, the command to run',
        );
      }
      return new CommandRunner({ argv: splitCommand(agent.command), timeoutSeconds: agent.timeoutSeconds });
    case 'replay':
      return new ReplayRunner({
        ...(agent.replayFile ? { file: agent.replayFile } : {}),
        delayMs: agent.replayDelayMs,
      });
  }
}
