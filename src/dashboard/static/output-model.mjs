// The agent output as the task page shows it: each tool call a card that gets its result, sub-agent lines (those with
// parent_tool_use_id) nested under the Task call that started them, flattened into rows for the virtual list.
const KEPT = [
  'timestamp',
  'type',
  'content',
  'tool_name',
  'tool_call_id',
  'input',
  'is_error',
  'parent_tool_use_id',
];

// only the fields the page shows are kept, so 100,000 lines stay small in memory (the raw file is a download away)
function slim(line) {
  const kept = {};
  for (const field of KEPT) if (line[field] !== undefined) kept[field] = line[field];
  if (typeof kept.content !== 'string')
    kept.content = kept.content === undefined ? '' : JSON.stringify(kept.content);
  return kept;
}

export class OutputModel {
  constructor() {
    this.items = [];
    this.calls = new Map();
    this.lines = 0;
    this.version = 0;
    this.rows = [];
    this.rowsVersion = -1;
  }

  add(n, raw) {
    if (raw === null || typeof raw !== 'object') return;
    const line = slim(raw);
    this.lines++;
    this.version++;
    const callId = typeof line.tool_call_id === 'string' ? line.tool_call_id : undefined;
    if (line.type === 'tool_result' && callId !== undefined && this.calls.has(callId)) {
      const card = this.calls.get(callId);
      if (card.result === undefined) {
        card.result = line;
        return;
      }
    }
    const entry =
      line.type === 'tool_call'
        ? { key: n, kind: 'tool', call: line, result: undefined, children: [], depth: 0 }
        : { key: n, kind: 'line', line, depth: 0 };
    if (entry.kind === 'tool' && callId !== undefined && !this.calls.has(callId))
      this.calls.set(callId, entry);
    const parent =
      typeof line.parent_tool_use_id === 'string' ? this.calls.get(line.parent_tool_use_id) : undefined;
    if (parent !== undefined && parent !== entry) {
      entry.depth = parent.depth + 1;
      parent.children.push(entry);
    } else {
      this.items.push(entry);
    }
  }

  /** every entry in reading order (cards followed by what their sub-agent wrote), rebuilt only after a change */
  flat() {
    if (this.rowsVersion === this.version) return this.rows;
    const rows = [];
    const walk = (entries) => {
      for (const entry of entries) {
        rows.push(entry);
        if (entry.kind === 'tool' && entry.children.length) walk(entry.children);
      }
    };
    walk(this.items);
    this.rows = rows;
    this.rowsVersion = this.version;
    return rows;
  }

  toolCards() {
    return this.flat().filter((entry) => entry.kind === 'tool');
  }
}

/** all text of an entry, collapsed parts included, for the find box */
export function entryText(entry) {
  if (entry.kind === 'line') return entry.line.content;
  const input = entry.call.input === undefined ? entry.call.content : JSON.stringify(entry.call.input);
  return `${entry.call.tool_name ?? ''}\n${input}\n${entry.result?.content ?? ''}`;
}

export function findMatches(rows, needle) {
  const matches = [];
  if (!needle) return matches;
  const lower = needle.toLowerCase();
  for (let i = 0; i < rows.length; i++) {
    if (entryText(rows[i]).toLowerCase().includes(lower)) matches.push(i);
  }
  return matches;
}
