// The writer-thread setting of the test run. The product's default is the writer thread; the tests that start
// telemetry or a server from settings use the event-loop writer unless TASK_LOGS_WRITER_THREAD says otherwise, since a
// thread's start costs a few hundred milliseconds of CPU in every test file (the suite's 5-minute budget). The thread
// is covered by writer-thread.test.ts, by the end-to-end tests that start the real processes with the defaults, and by
// a whole run with it on: `TASK_LOGS_WRITER_THREAD=true npm test`.
export function writerThreadEnv(): Record<string, string> {
  return { TASK_LOGS_WRITER_THREAD: process.env.TASK_LOGS_WRITER_THREAD ?? 'false' };
}
