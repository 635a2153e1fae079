import { Redactor } from '../../src/contract/redaction/redactor.ts';
import { buildRuleSet } from '../../src/contract/redaction/rule-set.ts';
import { scanTasks } from '../../src/ops/secret-scan.ts';
import { atLeast, benchDir, fmt, QUICK, report } from './bench-kit.ts';
import { writeTypicalTask } from './typical-task.ts';

// enough to run in well under a minute here; BENCH_TASKS=100000 for the full count
const TASKS = Number(process.env.BENCH_TASKS ?? (QUICK ? 1_000 : 10_000));
// 100,000 tasks in under ten minutes: a night's scan of a large store
const TARGET = 170;
const { dir, cleanup } = benchDir('scan');

try {
  for (let i = 0; i < TASKS; i++)
    writeTypicalTask(dir, `task-${String(i).padStart(6, '0')}`, { secret: i % 100 === 0 });
  const redactor = new Redactor(buildRuleSet());
  const started = performance.now();
  const result = await scanTasks({ root: dir, redactor });
  const seconds = (performance.now() - started) / 1000;
  const rate = result.scanned / seconds;
  if (result.tasks.length !== Math.ceil(TASKS / 100))
    throw new Error(`scan found secrets in ${result.tasks.length} tasks, expected ${Math.ceil(TASKS / 100)}`);
  report(
    `tasklogs scan  ${fmt(result.scanned)} typical tasks (one in 100 with a secret) in ${fmt(seconds, 1)} s`,
    atLeast('tasks/s', rate, TARGET, '', 0),
  );
} finally {
  cleanup();
}
