// The architecture as the imports draw it: folders of src/ and exporters/ form no cycle, and exporters/ reads only
// the shared contract from src/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path));
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)];
  return specifiers.map((m) => m[1] as string);
}

/** A file's node in the graph: its top folder (src/http, exporters), or the file itself when it sits loose in src/. */
function nodeOf(file: string): string {
  const [top, second] = file.split('/');
  if (top === 'src') return second?.endsWith('.ts') ? file : `src/${second}`;
  return top as string;
}

function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of [...sourceFiles('src'), ...sourceFiles('exporters')]) {
    const from = nodeOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const specifier of relativeImports(file)) {
      const to = nodeOf(relative(ROOT, resolve(ROOT, dirname(file), specifier)));
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

/** One cycle as a path (first node repeated at the end), or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the import graph between folders', () => {
  it('sees the imports it checks (a parser that found nothing would pass anything)', () => {
    const graph = folderGraph();
    expect(graph.get('src/http')).toContain('src/store');
    expect(graph.get('exporters')).toContain('src/contract');
    expect(relativeImports('src/cli/run-cli.ts')).toContain('../main.ts'); // a dynamic import
  });

  it('has no cycle', () => {
    expect(findCycle(folderGraph())).toBeUndefined();
  });

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('lets exporters/ import nothing from src/ but src/contract/', () => {
    const outside = [...(folderGraph().get('exporters') ?? [])].filter((to) => to !== 'src/contract');
    expect(outside).toEqual([]);
  });

  it('keeps src/contract/ free of imports from the rest of src/ and from exporters/', () => {
    expect([...(folderGraph().get('src/contract') ?? [])]).toEqual([]);
  });
});
