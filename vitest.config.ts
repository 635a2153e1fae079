import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // expect.poll waits for something to happen; its default of 1 s is too short on a busy CI machine
    expect: { poll: { timeout: 60_000 } },
    pool: 'forks',
    // many tests wait on child processes, sockets and timers rather than the CPU: two files at a time on 2 cores
    maxWorkers: 2,
  },
});
