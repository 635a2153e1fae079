// The unit test files, and the integration files of the 'shared' project, share their worker processes
// (vitest.config.ts: isolate false), which holds only while no file leaves anything behind for the next: this setup
// file fails a file that ends with process.env, the process's signal and error handlers, its exit code or the
// OpenTelemetry API's global registrations (tracer, logger, context manager, propagator, diag) changed.
import { afterAll, expect } from 'vitest';
// A module that adds one process-wide listener when it is first imported (and never again: the worker keeps its
// modules) is loaded before the handlers are counted, so the file that happens to import it first is not blamed.
import '../../src/agent/child-lines.ts';

const EVENTS = [
  'exit',
  'beforeExit',
  'uncaughtException',
  'unhandledRejection',
  'warning',
  'SIGINT',
  'SIGTERM',
];
// where @opentelemetry/api keeps what is registered globally
const OTEL_GLOBALS = Symbol.for('opentelemetry.js.api.1');
const otelGlobals = () => {
  const registered = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[OTEL_GLOBALS] ?? {};
  return Object.fromEntries(Object.entries(registered).filter(([key]) => key !== 'version'));
};
const handlers = () => Object.fromEntries(EVENTS.map((event) => [event, process.listenerCount(event)]));
const env = { ...process.env };
const before = handlers();
const otelBefore = otelGlobals();
const exitCodeBefore = process.exitCode;

afterAll(() => {
  const why = 'these test files share a worker (vitest.config.ts): a file must leave it as it found it';
  expect({ ...process.env }, why).toEqual(env);
  expect(handlers(), why).toEqual(before);
  expect(process.exitCode, why).toBe(exitCodeBefore);
  // the same registered objects, not only the same keys
  const otelAfter = otelGlobals();
  expect(Object.keys(otelAfter).sort(), why).toEqual(Object.keys(otelBefore).sort());
  for (const key of Object.keys(otelBefore))
    expect(otelAfter[key] === otelBefore[key], `${why}: ${key}`).toBe(true);
});
