// The unit test files share one worker process (vitest.config.ts: isolate false), which holds only while no file
// leaves anything behind for the next: this setup file fails a file that ends with process.env or the process's
// signal and error handlers changed.
import { afterAll, expect } from 'vitest';

const EVENTS = [
  'exit',
  'beforeExit',
  'uncaughtException',
  'unhandledRejection',
  'warning',
  'SIGINT',
  'SIGTERM',
];
const handlers = () => Object.fromEntries(EVENTS.map((event) => [event, process.listenerCount(event)]));
const env = { ...process.env };
const before = handlers();

afterAll(() => {
  const why = 'unit test files share a worker (vitest.config.ts): a file must leave it as it found it';
  expect({ ...process.env }, why).toEqual(env);
  expect(handlers(), why).toEqual(before);
});
