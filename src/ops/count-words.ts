// "1 task", "2 tasks": counts in the one-line summaries of the CLI and of maintenance.
export function tasksCount(n: number): string {
  return `${n} ${n === 1 ? 'task' : 'tasks'}`;
}
