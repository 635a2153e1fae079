// The commands' task index: one found corrupt is moved aside and rebuilt as the server does it, and said on stderr.
import type { Config } from '../config.ts';
import { corruptIndexLine, TaskIndex } from '../store/task-index.ts';

export function openCliIndex(config: Config): TaskIndex {
  const index = new TaskIndex(config.indexPath);
  if (index.setAside !== undefined) process.stderr.write(`tasklogs: ${corruptIndexLine(index)}\n`);
  return index;
}
