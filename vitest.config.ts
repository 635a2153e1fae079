import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The Node processes the tests start (the CLI, npm start, workers, fixtures) keep their compiled code,
// TypeScript already stripped, in a compile cache: a CLI start costs about half the CPU (cli.test.ts: 39 s of CPU
// down to 28 s). The workers inherit the variable, and the children get it through process.env.
process.env.NODE_COMPILE_CACHE ??= fileURLToPath(
  new URL('node_modules/.cache/node-compile-cache', import.meta.url),
);

// On this VM a first touch of a 4 KB page costs ~25 µs of CPU, and a Node process touches thousands as it starts
// (a bare `node -e 0`: 2,750 minor faults; a kill -9 torture child from its snapshot: 8,900, ~410 ms of CPU). With
// this glibc setting malloc asks for transparent huge pages (the kernel's THP mode here is "madvise"), so a large
// allocation, such as the snapshot blob Node reads into memory, is faulted in 2 MB at a time: the torture child
// starts in ~260 ms (5,000 faults). The workers and every process the tests start inherit it. Memory layout only:
// nothing a test checks depends on it.
process.env.GLIBC_TUNABLES ??= 'glibc.malloc.hugetlb=1';

// The files that take longest, longest first (seconds under load, from a full run). Vitest orders files by the
// durations of its previous run, but a fresh clone (CI) has none, and then it orders them by size: the torture file
// is small and ran last, alone on one of the two workers for two minutes while the other sat idle.
const SLOW_FIRST = [
  'test/integration/reliability-torture.test.ts', // ~160 s: 200 kill -9 rounds
  'test/browser/dashboard.test.ts', // ~80 s: Chromium
  'test/e2e/package.test.ts', // ~20 s: npm pack and a build
  'test/e2e/cli.test.ts', // ~15 s: the CLI as a process (exit codes, tail -f, serve); its other cases run in process
];

// Test files that keep a worker process of their own (see the 'shared' project below).
const ISOLATED = [
  'test/integration/reliability-torture.test.ts', // 200 kill -9 rounds: starts first, on a worker of its own
];
// The files that register a global OpenTelemetry SDK for some of their tests (own-sdk, export-limits,
// registered-logger, sdk-registered-first, task-spans) share too: each unregisters it when its test ends, and the
// guard checks the API's globals are as they were.

class SlowFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = SLOW_FIRST.findIndex((path) => spec.moduleId.endsWith(path));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    // a stable sort: the other files keep vitest's order
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // expect.poll waits for something to happen; its default of 1 s is too short on a busy CI machine
    expect: { poll: { timeout: 60_000 } },
    pool: 'forks',
    // many tests wait on child processes, sockets and timers rather than the CPU: two files at a time on 2 cores
    maxWorkers: 2,
    sequence: { sequencer: SlowFilesFirst },
    projects: [
      // the unit tests set no environment variable, no global provider, no process handler and no mock: they share
      // a worker instead of starting one each (~0.4 s per file at load 4, 1.6 s at load 12; 29 files). The guard
      // fails a file that leaves the environment or the process's handlers changed.
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          isolate: false,
          setupFiles: ['test/helpers/shared-worker-guard.ts'],
        },
      },
      // the other test files share their workers too: each leaves the process as it found it (the guard fails one
      // that leaves an environment variable, a process handler, an exit code or a global OpenTelemetry registration
      // behind). A worker start and the product's imports cost ~2.5 s of CPU per file when each file has a worker of
      // its own (12 integration files: 45 s of CPU isolated, 14 s shared); the files that cannot share are listed in
      // ISOLATED.
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**', ...ISOLATED],
          isolate: false,
          setupFiles: ['test/helpers/shared-worker-guard.ts'],
        },
      },
      { extends: true, test: { name: 'other', include: ISOLATED } },
    ],
  },
});
