// Telemetry on private providers writing into a temp folder, shut down when the test ends.
import { onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import {
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from '../../src/instrumentation/telemetry.ts';
import { writerThreadEnv } from './writer-thread-env.ts';

export function testTelemetry(
  logsDir: string,
  env: Record<string, string> = {},
  options: TelemetryOptions = {},
): Telemetry & { reports: string[] } {
  const reports: string[] = [];
  const config = loadConfig({
    env: { TASK_LOGS_DIR: logsDir, TASK_LOGS_FLUSH_MS: '20', ...writerThreadEnv(), ...env },
  });
  const telemetry = startTelemetry(config, {
    register: false,
    report: (message) => reports.push(message),
    ...options,
  });
  onTestFinished(() => telemetry.shutdown());
  return Object.assign(telemetry, { reports });
}
