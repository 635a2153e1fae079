// The worker's job: pick the task up from its queue message, run the agent as the task's invoke_agent span, and make
// sure the run ends (failed, with the reason) whatever happens.
import type { AgentRunner } from '../agent/agent-runner.ts';
import type { TaskRecorder } from '../instrumentation/task-recorder.ts';
import type { JobAttempt, TaskJob } from '../queue/task-job.ts';

export function taskJobHandler(options: {
  tasks: TaskRecorder;
  runner: AgentRunner;
  log?: (line: string) => void;
}): (job: TaskJob, attempt?: JobAttempt) => Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  return async (job, attempt) => {
    const task = options.tasks.resume(job.message);
    const run = task.startAgent({
      name: job.agent.name,
      ...(job.agent.type ? { type: job.agent.type } : {}),
      ...(job.agent.model ? { model: job.agent.model } : {}),
      ...(attempt ? { attempt: attempt.number } : {}),
    });
    // a queue that may run the job again says which run this is, so two runs in one 03 file read as two
    if (attempt !== undefined) {
      run.system(
        `[SYSTEM] attempt ${attempt.number} of ${attempt.of}` +
          (attempt.previous ? `: the previous attempt ended because ${attempt.previous}` : ''),
        { attempt: attempt.number, attempts_max: attempt.of },
      );
    }
    try {
      await options.runner.run(run, { taskId: task.id, prompt: job.prompt });
    } catch (error) {
      log(`task ${task.id}: the ${options.runner.name} runner failed: ${String(error)}`);
    } finally {
      if (!run.finished) run.fail(new Error(`the ${options.runner.name} runner stopped without a result`));
    }
  };
}
