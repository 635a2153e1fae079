// Error text on its way to a client: absolute file paths are cut out (they tell an attacker where things live), and
// the text is bounded. The request's own path, which the client sent, is not a file path and is left alone by callers.
const ABSOLUTE_PATH = /(^|[\s'"`(=:,[])\/(?:[^\s'"`)\],]+\/)*[^\s'"`)\],]*/g;
const LIMIT = 500;

export function withoutPaths(text: string): string {
  const cut = text.length > LIMIT ? `${text.slice(0, LIMIT)}…` : text;
  return cut.replace(ABSOLUTE_PATH, (match, before: string) =>
    match.length - before.length > 1 ? `${before}<path>` : match,
  );
}
