// A virtual list with rows of any height: only the rows in view (and a margin) are in the DOM, each measured after it
// renders, so 100,000 rows open and scroll as fast as ten. Follows the end while `follow` is on.
import { html, useLayoutEffect, useMemo, useRef, useState } from './html.mjs';

const MARGIN_PX = 600;

function firstAtOrAfter(offsets, y) {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function VirtualList({
  rows,
  version,
  estimate,
  renderRow,
  follow,
  onUserScroll,
  jump,
  label,
  rowClass,
}) {
  const box = useRef(null);
  const heights = useRef(new Map());
  const [measured, setMeasured] = useState(0);
  const [view, setView] = useState({ top: 0, height: 800 });

  const offsets = useMemo(() => {
    const result = new Float64Array(rows.length + 1);
    for (let i = 0; i < rows.length; i++) {
      result[i + 1] = result[i] + (heights.current.get(rows[i].key) ?? estimate(rows[i]));
    }
    return result;
  }, [rows, version, measured]);

  const total = offsets[rows.length];
  const start = rows.length ? firstAtOrAfter(offsets, Math.max(0, view.top - MARGIN_PX)) : 0;
  let end = start;
  while (end < rows.length && offsets[end] < view.top + view.height + MARGIN_PX) end++;

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    let changed = false;
    for (const child of element.firstElementChild.children) {
      const key = Number(child.dataset.key);
      const height = child.offsetHeight;
      if (height > 0 && heights.current.get(key) !== height) {
        heights.current.set(key, height);
        changed = true;
      }
    }
    if (changed) setMeasured((n) => n + 1);
  });

  useLayoutEffect(() => {
    const element = box.current;
    if (follow && element) element.scrollTop = element.scrollHeight;
  }, [follow, total]);

  useLayoutEffect(() => {
    const element = box.current;
    if (!element || !jump) return;
    element.scrollTop = Math.max(0, offsets[jump.index] - 48);
    setView({ top: element.scrollTop, height: element.clientHeight });
  }, [jump]);

  useLayoutEffect(() => {
    const element = box.current;
    if (element) setView({ top: element.scrollTop, height: element.clientHeight });
  }, []);

  const onScroll = (event) => {
    const element = event.currentTarget;
    setView({ top: element.scrollTop, height: element.clientHeight });
    const atEnd = element.scrollTop + element.clientHeight >= element.scrollHeight - 24;
    onUserScroll?.(atEnd);
  };

  const items = [];
  for (let i = start; i < end; i++) {
    const row = rows[i];
    items.push(
      html`<div
        key=${row.key}
        class=${`vrow ${rowClass?.(row, i) ?? ''}`}
        data-key=${row.key}
        style=${{ transform: `translateY(${offsets[i]}px)` }}
      >
        ${renderRow(row, i)}
      </div>`,
    );
  }
  return html`<div class="vlist" ref=${box} onScroll=${onScroll} tabindex="0" role="region" aria-label=${label}>
    <div class="vlist-inner" style=${{ height: `${total}px` }}>${items}</div>
  </div>`;
}
