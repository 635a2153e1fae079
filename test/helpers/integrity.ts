// Scans a logs folder the way a reader would and lists what is broken: partial JSON, torn JSONL lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonl } from '../../src/store/jsonl-read.ts';

export interface Integrity {
  tasks: number;
  jsonFiles: number;
  jsonlLines: number;
  /** partial JSON files, and JSONL lines torn anywhere but at the end */
  problems: string[];
  /** JSONL files whose last line is torn (allowed only for a killed writer) */
  tornTails: string[];
}

export function checkIntegrity(root: string): Integrity {
  const result: Integrity = { tasks: 0, jsonFiles: 0, jsonlLines: 0, problems: [], tornTails: [] };
  for (const task of readdirSync(root)) {
    const dir = join(root, task);
    if (!statSync(dir).isDirectory()) continue;
    result.tasks++;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name.endsWith('.json')) {
        result.jsonFiles++;
        try {
          JSON.parse(readFileSync(path, 'utf8'));
        } catch {
          result.problems.push(`${task}/${name}: not whole JSON`);
        }
      } else if (name.endsWith('.jsonl')) {
        const read = parseJsonl(readFileSync(path, 'utf8'));
        result.jsonlLines += read.lines.length;
        for (const line of read.badLines) result.problems.push(`${task}/${name}:${line}: torn line`);
        if (read.tornTail !== undefined) result.tornTails.push(`${task}/${name}`);
      }
    }
  }
  return result;
}
