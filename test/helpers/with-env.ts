// Sets process environment variables for one test (the OTLP exporters read them themselves), restored afterwards.
import { onTestFinished } from 'vitest';

export function withEnv(values: Record<string, string>): void {
  const before = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  onTestFinished(() => {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}
