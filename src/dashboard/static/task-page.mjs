// One task: its header (status, source link, agent, model, cost, tokens, duration), the waterfall, the agent output
// as it streams (virtual list, find box), the final result as sanitized markdown, and the five raw files.
import { download, firstLines, followOutput, getJson, getJsonIfExists } from './api.mjs';
import * as fmt from './format.mjs';
import { html, useEffect, useMemo, useRef, useState } from './html.mjs';
import { renderMarkdown } from './markdown.mjs';
import { findMatches, OutputModel } from './output-model.mjs';
import { estimateHeight, OutputRow } from './output-rows.mjs';
import { href, navigate } from './route.mjs';
import { VirtualList } from './virtual-list.mjs';
import { Waterfall, waterfallBars } from './waterfall.mjs';
import { ErrorBox, Loading, StatusBadge } from './widgets.mjs';

const FINAL = ['completed', 'failed', 'rejected'];
const POLL_MS = 2000;
const FIRST_PAGE = 500;

const FILES = [
  ['metadata', 'metadata.json', ''],
  ['input', '01-input.json', ''],
  ['webhook-flow', '02-webhook-flow.jsonl', '?format=jsonl'],
  ['agent-output', '03-agent-output.jsonl', '?format=jsonl'],
  ['final-result', '04-final-result.json', ''],
];

function useTaskFiles(taskId) {
  const [files, setFiles] = useState({ loading: true });
  useEffect(() => {
    let stopped = false;
    let timer;
    const base = `/api/tasks/${encodeURIComponent(taskId)}/logs`;
    const load = async () => {
      try {
        const [metadata, input, flow, result, settings] = await Promise.all([
          getJson(`${base}/metadata`),
          getJsonIfExists(`${base}/input`),
          getJsonIfExists(`${base}/webhook-flow`),
          getJsonIfExists(`${base}/final-result`),
          getJsonIfExists('/api/dashboard/settings').catch(() => undefined),
        ]);
        if (stopped) return;
        setFiles({ loading: false, metadata, input, flow, result, settings });
        if (!FINAL.includes(metadata.status) || result === undefined) timer = setTimeout(load, POLL_MS);
      } catch (error) {
        if (stopped) return;
        setFiles((old) => ({ ...old, loading: false, error }));
        if (error.status !== 404 && error.status !== 401 && error.status !== 400)
          timer = setTimeout(load, POLL_MS);
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [taskId]);
  return files;
}

function useOutput(taskId) {
  const model = useMemo(() => new OutputModel(), [taskId]);
  const [state, setState] = useState({ version: 0, ended: false, error: null });
  useEffect(() => {
    let frame = 0;
    let painted = false;
    const schedule = () => {
      if (frame) return;
      if (!painted) {
        painted = true; // the first lines show at once; later ones once per frame
        setState((old) => ({ ...old, version: model.version }));
        return;
      }
      frame = requestAnimationFrame(() => {
        frame = 0;
        setState((old) => ({ ...old, version: model.version }));
      });
    };
    const handlers = {
      onLines: (batch) => {
        for (const { n, line } of batch) model.add(n, line);
        schedule();
      },
      onEnd: () => setState((old) => ({ ...old, ended: true, version: model.version })),
      onError: (error) => setState((old) => ({ ...old, error })),
    };
    // the first screen from one small page, so it never waits behind a long backlog; then the live follow
    const controller = new AbortController();
    let stopFollow = () => controller.abort();
    firstLines(`/api/tasks/${encodeURIComponent(taskId)}/logs/agent-output`, FIRST_PAGE, {
      signal: controller.signal,
    })
      .then(
        ({ lines, next }) => {
          if (lines.length) handlers.onLines(lines);
          return next;
        },
        () => 0, // no output yet (404) or a hiccup: the follow starts from the beginning
      )
      .then((after) => {
        if (!controller.signal.aborted) stopFollow = followOutput(taskId, { after, ...handlers });
      });
    const stop = () => {
      controller.abort();
      stopFollow();
    };
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [model]);
  return { model, ...state };
}

export function TaskPage({ taskId, params }) {
  const files = useTaskFiles(taskId);
  const output = useOutput(taskId);
  const [now, setNow] = useState(Date.now());
  const [downloadError, setDownloadError] = useState(null);
  const running = files.metadata && !FINAL.includes(files.metadata.status);
  // known to have ended (not merely not known to run: the metadata may still be loading)
  const ended = files.metadata !== undefined && files.metadata !== null && !running;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);

  const outputSection = html`<${OutputSection} key="output" taskId=${taskId} output=${output} params=${params} running=${running} ended=${ended} />`;
  // the output streams in while the other files load (a long backlog keeps the server busy for a moment)
  if (files.loading) {
    return html`<article class="task-page">
      <p class="crumbs"><a href="#/">Tasks</a> / <span>${taskId}</span></p>
      <${Loading} key="loading" what=${`task ${taskId}`} />
      ${outputSection}
    </article>`;
  }
  if (files.error && !files.metadata) {
    return html`<section>
      <h1>Task ${taskId}</h1>
      <${ErrorBox} error=${files.error} />
      <p><a href="#/">Back to the task list</a></p>
    </section>`;
  }
  const { metadata, input, flow, result, settings } = files;
  const cards = output.model.toolCards();
  const wf = waterfallBars({ flow, metadata, result, cards, now });
  return html`<article class="task-page">
    <p class="crumbs"><a href="#/">Tasks</a> / <span>${taskId}</span></p>
    <${TaskHeader} metadata=${metadata} input=${input} result=${result} settings=${settings} now=${now} />
    ${
      result?.success === false || metadata.status === 'failed'
        ? html`<div class="error-box task-error" role="alert">
          <strong>Failed: </strong>${result?.error ?? 'the task failed (no result written yet)'}
        </div>`
        : null
    }
    ${
      input?.message
        ? html`<section aria-labelledby="input-title">
          <h2 id="input-title">Request</h2>
          <pre class="text request">${input.message}</pre>
        </section>`
        : null
    }
    <section aria-labelledby="wf-title">
      <h2 id="wf-title">Waterfall</h2>
      <${Waterfall} bars=${wf.bars} more=${wf.more} />
    </section>
    ${outputSection}
    <section aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      ${
        result?.result
          ? html`<div class="markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(result.result) }}></div>`
          : html`<p class="muted">${running ? 'The task is still running.' : 'No result text.'}</p>`
      }
    </section>
    <section aria-labelledby="files-title">
      <h2 id="files-title">Raw files</h2>
      <ul class="files">
        ${FILES.map(
          ([name, file, suffix]) =>
            html`<li>
              <button class="link" onClick=${() => download(`/api/tasks/${encodeURIComponent(taskId)}/logs/${name}${suffix}`, `${taskId}-${file}`).catch(setDownloadError)}>
                ${file}
              </button>
            </li>`,
        )}
      </ul>
      <${ErrorBox} error=${downloadError} />
    </section>
  </article>`;
}

function TaskHeader({ metadata, input, result, settings, now }) {
  const source = fmt.sourceLink(metadata.provider, input?.source_metadata, settings);
  const m = result?.metrics ?? {};
  const seconds =
    typeof m.duration_seconds === 'number'
      ? m.duration_seconds
      : fmt.taskSeconds({ status: metadata.status, started_at: metadata.started_at }, now);
  const item = (label, value) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
  return html`<header class="task-head">
    <h1>${metadata.task_id} <${StatusBadge} status=${metadata.status} /></h1>
    <dl class="facts">
      ${item(
        'Source',
        html`${metadata.provider ?? '–'}${' '}
        ${
          source.href
            ? html`<a href=${source.href} rel="noopener noreferrer" target="_blank">${source.label}</a>`
            : source.label !== metadata.provider
              ? source.label
              : null
        }`,
      )}
      ${
        metadata.conversation_id
          ? item(
              'Conversation',
              html`<a href=${href(`/conversation/${encodeURIComponent(metadata.conversation_id)}`)}>${metadata.conversation_id}</a>`,
            )
          : null
      }
      ${item('Agent', `${metadata.assigned_agent ?? '–'}${metadata.agent_type ? ` (${metadata.agent_type})` : ''}`)}
      ${item('Model', metadata.model ?? '–')}
      ${item('Created', fmt.when(metadata.created_at))}
      ${item('Duration', fmt.seconds(seconds))}
      ${item('Cost', fmt.cost(m.cost_usd))}
      ${item('Tokens', tokensText(m))}
    </dl>
  </header>`;
}

function OutputSection({ taskId, output, params, running, ended }) {
  const { model } = output;
  const rows = model.flat();
  const needle = params.get('find') ?? '';
  const [draft, setDraft] = useState(needle);
  const [current, setCurrent] = useState(0);
  const [jump, setJump] = useState(null);
  const [follow, setFollow] = useState(Boolean(running));
  useEffect(() => {
    if (running) setFollow(true);
  }, [running]);
  const [uiVersion, setUiVersion] = useState(0);
  const expanded = useRef(new Set());
  const ui = useMemo(
    () => ({
      expanded: expanded.current,
      toggle: (id) => {
        if (expanded.current.has(id)) expanded.current.delete(id);
        else expanded.current.add(id);
        setUiVersion((n) => n + 1);
      },
    }),
    [],
  );
  const matches = useMemo(() => findMatches(rows, needle), [rows, output.version, needle]);

  const show = (index) => {
    const at = matches[index];
    if (at === undefined) return;
    const entry = rows[at];
    // open what the match may be hidden in: a collapsed thinking line, a long text, a tool's input or result
    for (const suffix of ['', ':all', ':in', ':out']) expanded.current.add(`${entry.key}${suffix}`);
    setCurrent(index);
    setFollow(false);
    setJump({ index: at });
    setUiVersion((n) => n + 1);
  };
  useEffect(() => setDraft(needle), [needle]);

  const submit = (event) => {
    event.preventDefault();
    if (draft !== needle) {
      navigate(`/task/${encodeURIComponent(taskId)}`, { find: draft }, { replace: true });
      setCurrent(0);
    } else if (matches.length) {
      show((current + 1) % matches.length);
    }
  };
  useEffect(() => {
    if (needle && matches.length) show(Math.min(current, matches.length - 1));
  }, [needle, matches.length > 0]);

  const matchSet = useMemo(() => new Set(matches), [matches]);
  return html`<section aria-labelledby="out-title" class="output">
    <div class="output-bar">
      <h2 id="out-title">Agent output <span class="muted">${model.lines.toLocaleString('en')} lines${running && !output.ended ? ', live' : ''}</span></h2>
      <form class="find" role="search" onSubmit=${submit}>
        <label for="find-input" class="visually-hidden">Find in the output</label>
        <input id="find-input" type="search" placeholder="Find in output" value=${draft} onInput=${(e) => setDraft(e.currentTarget.value)} />
        <button type="submit">Find</button>
        ${
          needle
            ? html`<span class="muted" aria-live="polite">${matches.length ? `${current + 1} of ${matches.length}` : 'no match'}</span>
              <button type="button" disabled=${!matches.length} onClick=${() => show((current - 1 + matches.length) % matches.length)}>Previous</button>
              <button type="button" disabled=${!matches.length} onClick=${() => show((current + 1) % matches.length)}>Next</button>`
            : null
        }
      </form>
      <label class="follow"><input type="checkbox" checked=${follow} onChange=${(e) => setFollow(e.currentTarget.checked)} /> Follow the end</label>
    </div>
    <${ErrorBox} error=${output.error} />
    ${
      rows.length === 0
        ? html`<p class="muted" role="status">${output.ended ? 'This task wrote no output.' : 'Waiting for output…'}</p>`
        : html`<${VirtualList}
          rows=${rows}
          version=${output.version + uiVersion * 1e9}
          estimate=${estimateHeight}
          follow=${follow}
          jump=${jump}
          label="Agent output"
          onUserScroll=${(atEnd) => {
            if (!atEnd && follow) setFollow(false);
          }}
          rowClass=${(_row, i) => (matchSet.has(i) ? (matches[current] === i ? 'match current' : 'match') : '')}
          renderRow=${(entry) => html`<${OutputRow} entry=${entry} ui=${ui} needle=${needle} ended=${ended} />`}
        />`
    }
  </section>`;
}

// input and output always (– when not recorded); the cache counts only when the run reported them
function tokensText(m) {
  const parts = [`${fmt.count(m.input_tokens)} in`, `${fmt.count(m.output_tokens)} out`];
  if (m.cache_read_input_tokens != null) parts.push(`${fmt.count(m.cache_read_input_tokens)} cache read`);
  if (m.cache_creation_input_tokens != null)
    parts.push(`${fmt.count(m.cache_creation_input_tokens)} cache write`);
  return parts.join(', ');
}
