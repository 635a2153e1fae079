// One of the processes of the concurrent-append torture: appends LINES lines of 10 B to 64 KiB (log-uniform) to one
// task through its own writer, a batch at a time, each line naming its process and number.
import { TaskFileWriter } from '../../exporters/task-file-writer.ts';
import { ATTR } from '../../src/contract/attributes.ts';

const [root, linesArg, tag] = process.argv.slice(2);
const lines = Number(linesArg);
const writer = new TaskFileWriter({ root: root!, flushMs: 5, report: (m) => process.stderr.write(`${m}\n`) });
let random = Number(process.pid);
const next = () => {
  random = (random * 1_103_515_245 + 12_345) % 2_147_483_648;
  return random / 2_147_483_648;
};
const now = Date.now();
for (let i = 0; i < lines; i++) {
  const size = Math.round(10 * 6553.6 ** next()); // 10 B .. 64 KiB, log-uniform
  const head = `${tag}:${i}:`;
  writer.push({
    hrTime: [Math.floor(now / 1000), 0],
    attributes: { [ATTR.taskId]: 'task-shared', [ATTR.outputType]: 'text' },
    body: head + 'y'.repeat(Math.max(0, size - head.length)),
  });
  if (i % 256 === 255) await writer.forceFlush();
}
await writer.shutdown();
const stats = writer.stats();
process.stdout.write(`${JSON.stringify({ written: stats.written, dropped: stats.dropped })}\n`);
