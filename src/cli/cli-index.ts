// The commands' task index: one found corrupt is moved aside and rebuilt as the server does it, and said on stderr.
import type { Config } from '../config.ts';
import { corruptIndexLine, TaskIndex } from '../store/task-index.ts';
import type { OutStream } from './terminal.ts';

export function openCliIndex(config: Config, err: OutStream): TaskIndex {
  const index = new TaskIndex(config.indexPath);
  if (index.setAside !== undefined) err.write(`tasklogs: ${corruptIndexLine(index)}\n`);
  return index;
}
