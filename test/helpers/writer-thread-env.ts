// The writer-thread setting of the test run: `TASK_LOGS_WRITER_THREAD=true npx vitest run ...` runs the tests that
// start telemetry or a server from settings with the task folders written by the writer thread.
export function writerThreadEnv(): Record<string, string> {
  const value = process.env.TASK_LOGS_WRITER_THREAD;
  return value === undefined ? {} : { TASK_LOGS_WRITER_THREAD: value };
}
