// The worker's job: pick the task up from its queue message, run the agent as the task's invoke_agent span, and make
// sure the run ends (failed, with the reason) whatever happens.
import type { AgentRunner } from '../agent/agent-runner.ts';
import type { TaskRecorder } from '../instrumentation/task-recorder.ts';
import type { TaskJob } from '../queue/task-job.ts';

export function taskJobHandler(options: {
  tasks: TaskRecorder;
  runner: AgentRunner;
  log?: (line: string) => void;
}): (job: TaskJob) => Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  return async (job) => {
    const task = options.tasks.resume(job.message);
    const run = task.startAgent({
      name: job.agent.name,
      ...(job.agent.type ? { type: job.agent.type } : {}),
      ...(job.agent.model ? { model: job.agent.model } : {}),
    });
    try {
      await options.runner.run(run, { taskId: task.id, prompt: job.prompt });
    } catch (error) {
      log(`task ${task.id}: the ${options.runner.name} runner failed: ${String(error)}`);
    } finally {
      if (!run.finished) run.fail(new Error(`the ${options.runner.name} runner stopped without a result`));
    }
  };
}
