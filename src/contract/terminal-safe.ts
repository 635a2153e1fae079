// Text that came from outside (a task's content, a client's value, a file's bytes) on its way to a terminal or a log:
// an escape sequence in it would drive the reader's terminal (clear the screen, rewrite lines with a carriage return,
// set the title or the clipboard, reorder text with bidi controls). Every control character but the newline and the
// tab, C1 controls and bidi controls are shown as a JSON-style \u escape, so a JSON text stays valid JSON.

/** the characters that could drive a terminal, as a regex source (no flags) */
export const UNSAFE_CHARS =
  '[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]';
const UNSAFE = new RegExp(UNSAFE_CHARS, 'g');

/** A character's \u escape. */
export function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** The text with every character that could drive a terminal shown as its \u escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, unicodeEscape);
}
