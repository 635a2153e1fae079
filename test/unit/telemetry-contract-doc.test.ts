import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ATTR, OPERATION, OUTPUT_EVENT_NAME } from '../../src/contract/attributes.ts';
import { OUTPUT_TYPES, WEBHOOK_STAGES } from '../../src/contract/task-files.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DOC = readFileSync(resolve(ROOT, 'docs/telemetry-contract.md'), 'utf8');
const STAGE_FIELD = `${ATTR.stageFieldPrefix}<field>`;

/** The text of one `## heading` section, up to the next `## `. */
function section(heading: string): string {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/telemetry-contract.md has no "## ${heading}" section`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** The back-quoted name in the first cell of every table row of a section (header and rule rows left out). */
function firstColumnNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const cell = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (cell?.[1] !== undefined) names.push(cell[1]);
  }
  return names;
}

/** The attributes the file mapping reads: every ATTR key exporters/task-changes.ts uses, by its value. */
function attributesTheMappingReads(): string[] {
  const source = readFileSync(resolve(ROOT, 'exporters/task-changes.ts'), 'utf8');
  const keys = new Set([...source.matchAll(/\bATTR\.(\w+)/g)].map((m) => m[1] as keyof typeof ATTR));
  return [...keys].map((key) => {
    const value = ATTR[key];
    if (value === undefined) throw new Error(`task-changes.ts reads ATTR.${key}, which attributes.ts lacks`);
    return key === 'stageFieldPrefix' ? STAGE_FIELD : value;
  });
}

describe('docs/telemetry-contract.md', () => {
  it('lists exactly the attributes the file mapping reads, each once', () => {
    const documented = firstColumnNames(section('Attributes'));
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(attributesTheMappingReads().sort());
  });

  it('names only attributes the contract module defines', () => {
    const defined = new Set<string>(Object.values(ATTR));
    defined.add(STAGE_FIELD);
    const unknown = firstColumnNames(section('Attributes')).filter((name) => !defined.has(name));
    expect(unknown).toEqual([]);
  });

  it('gives the six stages in their order and the seven output types', () => {
    const stages = /Stages, in order: ([^.]+)\./.exec(section('Spans').replaceAll('\n', ' '))?.[1];
    expect(stages?.match(/`[a-z_]+`/g)?.map((s) => s.slice(1, -1))).toEqual([...WEBHOOK_STAGES]);
    const typeRow = section('Attributes')
      .split('\n')
      .find((line) => line.startsWith(`| \`${ATTR.outputType}\``));
    const types = typeRow
      ?.split('|')[4]
      ?.match(/`[a-z_]+`/g)
      ?.map((s) => s.slice(1, -1));
    expect(types?.filter((t) => t !== 'type').sort()).toEqual([...OUTPUT_TYPES].sort());
  });

  it('names the agent operation and the output event as the code does', () => {
    expect(DOC).toContain(`\`gen_ai.operation.name\` = \`${OPERATION.invokeAgent}\``);
    expect(DOC).toContain(`**eventName** \`${OUTPUT_EVENT_NAME}\``);
  });
});
