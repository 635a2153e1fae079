// The package as a service gets it: `npm pack`, installed into a fresh project, imported by name under plain Node
// (compiled JavaScript, no type stripping inside node_modules), and type-checked against the shipped .d.ts files.
//
// Installing: by default the tarball is unpacked into the service's node_modules and the project's runtime
// dependencies (never its devDependencies) are linked beside it, which keeps this test to seconds. With
// TASK_LOGS_PACKAGE_INSTALL=npm (`npm run test:package`) it runs a real `npm ci --offline` from npm's cache instead,
// and type-checks every installed .d.ts too.
// TASK_LOGS_TEST_NODE=/path/to/node runs the services under another Node as well (for example a plain Node 22).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_STAGES } from '../../src/contract/task-files.ts';
import { expectTaskPassesChecker } from '../helpers/check-task.ts';
import { readTaskFolder } from '../helpers/task-files.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/package-consumer');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const NPM_INSTALL = process.env.TASK_LOGS_PACKAGE_INSTALL === 'npm';
const OTHER_NODE = process.env.TASK_LOGS_TEST_NODE;

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
}
interface LockEntry {
  dev?: boolean;
  link?: boolean;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
// what the services import directly, besides the package (a real service would list them too)
const SERVICE_DEPENDENCIES = [
  '@opentelemetry/api',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace',
];

let work: string;
let tarball: string;
let service: string;
let tarballFiles: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'task-logs-package-'));
  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  tarballFiles = info.files.map((file) => file.path);
  service = join(work, 'service');
  mkdirSync(service);
  const dependencies: Record<string, string> = { 'task-logs': `file:${tarball}` };
  for (const name of SERVICE_DEPENDENCIES) dependencies[name] = pkg.dependencies[name] as string;
  writeJson(join(service, 'package.json'), { name: 'service', private: true, type: 'module', dependencies });
  if (NPM_INSTALL) npmInstall(dependencies);
  else linkInstall();
  for (const file of ['record-task.ts', 'own-sdk.ts']) cpSync(join(FIXTURES, file), join(service, file));
}, 240_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function runtimeEntries(): [string, LockEntry][] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  return Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev && !entry.link);
}

/** The tarball unpacked as npm would, and the project's runtime dependencies linked beside it. */
function linkInstall(): void {
  const modules = join(service, 'node_modules');
  const target = join(modules, 'task-logs');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  for (const [path] of runtimeEntries()) {
    if (path.lastIndexOf('node_modules/') !== 0) continue; // nested copies come with their parent
    const link = join(service, path);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, path), link, 'dir');
  }
}

/** A real `npm ci`, offline: the lock is the project's own, less its devDependencies, so npm's cache has it all. */
function npmInstall(dependencies: Record<string, string>): void {
  const packages: Record<string, unknown> = { '': { name: 'service', dependencies } };
  for (const [path, entry] of runtimeEntries()) packages[path] = entry;
  packages['node_modules/task-logs'] = {
    version: pkg.version,
    resolved: `file:${tarball}`,
    license: pkg.license,
    dependencies: pkg.dependencies,
    engines: pkg.engines,
    bin: pkg.bin,
  };
  writeJson(join(service, 'package-lock.json'), {
    name: 'service',
    lockfileVersion: 3,
    requires: true,
    packages,
  });
  const started = performance.now();
  execFileSync(
    'npm',
    ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: service,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  console.info(`npm ci --offline of the packed package took ${Math.round(performance.now() - started)} ms`);
}

function runService(node: string, file: string, logsDir: string, taskId: string) {
  const args = node === process.execPath ? [file, taskId] : ['--experimental-strip-types', file, taskId];
  return spawnSync(node, args, {
    cwd: service,
    env: { PATH: process.env.PATH, TASK_LOGS_DIR: logsDir, NODE_NO_WARNINGS: '1' },
    encoding: 'utf8',
  });
}

const NODES: [string, string][] = [['the project Node', process.execPath]];
if (OTHER_NODE !== undefined) NODES.push([`TASK_LOGS_TEST_NODE (${OTHER_NODE})`, OTHER_NODE]);

describe('the packed package', () => {
  it('holds compiled JavaScript, types, the commands file and the replay assets, and no tests or sources', () => {
    expect(tarballFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/exporters/index.js',
        'dist/exporters/index.d.ts',
        'config/commands.json',
        'assets/replay/review-transcript.jsonl',
      ]),
    );
    // compiled modules and their types, the .proto files beside the OTLP decoder, the dashboard's static files, the
    // commands file, the replay transcript and the redaction rules; never a .ts source or a test
    const notAllowed = tarballFiles.filter(
      (path) =>
        !/^(package\.json|README\.md|LICENSE)$/.test(path) &&
        !/^dist\/(src|exporters)\/.+\.(js|d\.ts|proto)$/.test(path) &&
        !path.startsWith('src/dashboard/static/') &&
        path !== 'config/commands.json' &&
        !path.startsWith('assets/replay/') &&
        !path.startsWith('assets/redaction/'),
    );
    expect(notAllowed).toEqual([]);
    expect(tarballFiles.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    expect(tarballFiles.some((path) => path.startsWith('dist/test/') || path.includes('.test.'))).toBe(false);

    const shipped = JSON.parse(
      readFileSync(join(service, 'node_modules/task-logs/package.json'), 'utf8'),
    ) as PackageJson;
    expect(shipped.private).toBeUndefined();
    expect(Object.keys(shipped.exports).sort()).toEqual(['.', './exporters', './package.json']);
    for (const target of Object.values(shipped.exports).flatMap((t) =>
      typeof t === 'string' ? [t] : Object.values(t),
    )) {
      expect(tarballFiles).toContain(target.replace(/^\.\//, ''));
    }
    expect(tarballFiles).toContain(shipped.bin.tasklogs);
    expect(shipped.bin.tasklogs).toMatch(/\.js$/);
  });

  it.each(NODES)('is imported by name and records a complete task under %s', async (_, node) => {
    const logsDir = join(work, `logs-${NODES.findIndex(([, n]) => n === node)}`);
    const result = runService(node, 'record-task.ts', logsDir, 'task-installed');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const folder = join(logsDir, 'task-installed');
    expectTaskPassesChecker(folder, 'completed');
    const files = readTaskFolder(folder);
    expect(files.metadata).toMatchObject({
      status: 'completed',
      provider: 'github',
      assigned_agent: 'brain',
    });
    expect(files.webhookFlow.map((line) => line.stage)).toEqual([...WEBHOOK_STAGES]);
    expect(files.agentOutput.map((line) => line.type)).toEqual([
      'system',
      'thinking',
      'tool_call',
      'tool_result',
      'text',
      'final',
    ]);
    expect(files.finalResult).toMatchObject({
      success: true,
      result: 'Review: fine',
      metrics: { cost_usd: 0.0234, input_tokens: 1500, output_tokens: 800 },
    });
  });

  it.each(NODES)(
    'serves a service with its own NodeSDK: five files, and its own exporters get everything, under %s',
    async (_, node) => {
      const logsDir = join(work, `own-sdk-${NODES.findIndex(([, n]) => n === node)}`);
      const result = runService(node, 'own-sdk.ts', logsDir, 'task-own-sdk');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const exported = JSON.parse(result.stdout) as {
        spans: string[];
        services: string[];
        records: string[];
        stats: { dropped: number; errors: number };
      };
      expect(exported.spans).toEqual(
        expect.arrayContaining(['GET /orders', 'task', 'received', 'queue_push', 'invoke_agent brain']),
      );
      expect(exported.services).toEqual(['orders']);
      expect(exported.records).toEqual([
        'order list served',
        'Plan: three steps',
        `token ghp_${'a1B2c3D4e5'.repeat(3)}a1B2c3`,
        'Done',
      ]);
      expect(exported.stats).toMatchObject({ dropped: 0, errors: 0 });
      const folder = join(logsDir, 'task-own-sdk');
      expectTaskPassesChecker(folder, 'completed');
      const files = readTaskFolder(folder);
      expect(files.metadata).toMatchObject({ provider: 'jira', status: 'completed' });
      expect(files.agentOutput[1]?.content).toMatch(/^token \[REDACTED:[^\]]+\]$/);
    },
  );

  it('type-checks the services with tsc --noEmit against the shipped types', () => {
    writeJson(join(service, 'tsconfig.json'), {
      compilerOptions: {
        target: 'esnext',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        // the full run also checks every installed .d.ts (10 s more); the fast one relies on the services' use of
        // the types and on the unused-@ts-expect-error guard in record-task.ts to notice types that fail to resolve
        skipLibCheck: !NPM_INSTALL,
      },
      include: ['record-task.ts', 'own-sdk.ts'],
    });
    const result = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], {
      cwd: service,
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('finds its data files from dist (commands, replay, .proto, gitleaks rules, dashboard), and its bin runs', () => {
    const installed = join(service, 'node_modules/task-logs');
    const module = (path: string) => JSON.stringify(pathToFileURL(join(installed, 'dist/src', path)).href);
    const exporter = (path: string) =>
      JSON.stringify(pathToFileURL(join(installed, 'dist/exporters', path)).href);
    // the OTLP decoder's worker thread starts from dist too: a body over 1 MiB is decoded there; and so does the
    // writer thread (TASK_LOGS_WRITER_THREAD): one line written through it
    const script = `import { DEFAULT_COMMANDS_FILE, loadCommands } from ${module('intake/command-phrases.js')};
      import { TaskFileWriter } from ${exporter('task-file-writer.js')};
      import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      import { BUNDLED_TRANSCRIPT } from ${module('agent/replay-runner.js')};
      import { packageFile } from ${module('contract/package-files.js')};
      import { gitleaksRules } from ${module('contract/redaction/rule-set.js')};
      import { DecodePool } from ${module('ingest/decode-pool.js')};
      import { FolderMtimesThread } from ${module('store/folder-mtimes.js')};
      loadCommands();
      const pool = new DecodePool();
      const body = new TextEncoder().encode('{"resourceSpans": []}' + ' '.repeat(1_100_000));
      const decoded = await pool.decode({ signal: 'traces', encoding: 'json', coding: 'identity', body, limit: 2e6 });
      await pool.close();
      const root = mkdtempSync(join(tmpdir(), 'task-logs-installed-thread-'));
      let threads = 0;
      const writer = new TaskFileWriter({ root, thread: { onStart: () => threads++ }, report: (message) => console.error(message) });
      const record = { hrTime: [1700000000, 0], attributes: { 'task.id': 'task-thread', 'task.output.type': 'text' }, body: 'via the thread' };
      await new Promise((resolve) => writer.pushAll([record], resolve));
      await writer.shutdown();
      const threadLine = JSON.parse(readFileSync(join(root, 'task-thread', '03-agent-output.jsonl'), 'utf8')).content;
      // and the index refresh's folder listing thread
      const folders = new FolderMtimesThread();
      const listed = (await folders.list(root)).ids;
      await folders.close();
      rmSync(root, { recursive: true, force: true });
      console.log(JSON.stringify({
        threadLine,
        threads,
        listed,
        files: [DEFAULT_COMMANDS_FILE, BUNDLED_TRANSCRIPT, packageFile('src', 'dashboard', 'static', 'index.html')],
        rules: gitleaksRules().rules.length,
        decoded: decoded.ok,
      }));`;
    writeFileSync(join(service, 'data-files.mjs'), script);
    const found = JSON.parse(
      execFileSync(process.execPath, ['data-files.mjs'], { cwd: service, encoding: 'utf8' }),
    ) as {
      files: string[];
      rules: number;
      decoded: boolean;
      threadLine: string;
      threads: number;
      listed: string;
    };
    expect(found.threadLine).toBe('via the thread');
    expect(found.listed).toBe('task-thread');
    expect(found.threads).toBe(1);
    expect(found.files).toEqual([
      join(installed, 'config/commands.json'),
      join(installed, 'assets/replay/review-transcript.jsonl'),
      join(installed, 'src/dashboard/static/index.html'),
    ]);
    expect(found.files.filter((path) => !existsSync(path))).toEqual([]);
    expect(found.rules).toBeGreaterThan(0);
    expect(found.decoded).toBe(true);

    const bin = join(installed, pkg.bin.tasklogs as string);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: tasklogs <command> [options]');

    // a Node older than the package's engines (a system Node 20) gets one line and exit 2, not a stack trace
    const system = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const [major = 99, minor = 0] = (system.stdout ?? '').trim().split('.').map(Number);
    if (system.status === 0 && (major < 22 || (major === 22 && minor < 16))) {
      const old = spawnSync('/usr/bin/node', [bin, 'ls'], {
        encoding: 'utf8',
        env: { ...process.env, TASK_LOGS_DIR: join(installed, 'no-logs') },
      });
      expect({ status: old.status, stderr: old.stderr }).toEqual({
        status: 2,
        stderr: `tasklogs: this command needs Node.js 22.16 or newer (for node:sqlite); this is Node.js v${system.stdout.trim()}\n`,
      });
      // the library still loads there (node:sqlite is opened with the index, not at import): the task is written,
      // and the index it cannot keep is one warning naming the Node it needs
      const logs = join(installed, 'old-node-logs');
      const script = `
        const { startTelemetry, loadConfig } = await import(${JSON.stringify(join(installed, 'dist/src/index.js'))});
        const telemetry = startTelemetry(loadConfig({ env: { TASK_LOGS_DIR: ${JSON.stringify(logs)} } }), { register: false });
        const run = telemetry.tasks.start({ taskId: 'task-oldnode1', source: 'api', input: { message: 'hi' } })
          .startAgent({ name: 'brain', type: 'planning', model: 'claude' });
        run.text('hello');
        run.finish({ result: 'done' });
        await telemetry.shutdown();
        console.log('recorded');`;
      const library = spawnSync('/usr/bin/node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(library.stdout).toBe('recorded\n');
      expect(library.stderr).toContain(
        `the task index needs Node.js 22.16 or newer (for node:sqlite); this is Node.js v${system.stdout.trim()}`,
      );
      expect(readFileSync(join(logs, 'task-oldnode1', 'metadata.json'), 'utf8')).toContain('"completed"');
    }
  });
});
