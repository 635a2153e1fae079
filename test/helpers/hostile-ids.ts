// Task ids that must be refused everywhere: traversal, separators, the dot names, empty, too long, NUL, non-ASCII,
// percent-encoded dots and slashes, absolute paths, backslashes and spaces.
export const HOSTILE_IDS = [
  '../x',
  'a/b',
  '..',
  '.',
  '',
  'x'.repeat(500),
  'a\0b',
  'tâche',
  '%2e%2e',
  '%2e%2e%2fx',
  '..%2fx',
  '/etc',
  'a\\b',
  ' x',
];
