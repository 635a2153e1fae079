// What a worker asks of an agent runner: run one job, report everything through the AgentRun, and finish it.
import type { AgentRun } from '../instrumentation/agent-run.ts';

export interface AgentJob {
  taskId: string;
  /** what the agent is asked to do */
  prompt: string;
}

export interface AgentRunner {
  readonly name: string;
  /** Runs the job to its end. The run is always finished (failed on a crash or timeout); never rejects. */
  run(run: AgentRun, job: AgentJob): Promise<void>;
}
