// Markdown from task content rendered safely: raw HTML in the source is dropped by marked, then DOMPurify removes
// whatever is left that could run or load anything (only http(s) and mailto links, no images, no forms).
import { Marked } from '/assets/vendor/marked.mjs';
import DOMPurify from '/assets/vendor/purify.mjs';

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html: () => '',
    image: ({ text }) => escapeText(text ?? ''),
  },
});

function escapeText(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer nofollow');
    node.setAttribute('target', '_blank');
  }
});

export function renderMarkdown(text) {
  const raw = marked.parse(String(text ?? ''));
  return DOMPurify.sanitize(raw, {
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    FORBID_TAGS: ['img', 'style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'svg', 'math'],
    FORBID_ATTR: ['style', 'class', 'id'],
  });
}
