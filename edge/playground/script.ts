/**
 * The playground script, served as /playground/app.js. Plain browser JavaScript kept as a string (no build step);
 * `String.raw` keeps its backslashes as written. It must contain no backtick and no dollar-brace; a test parses it.
 * One string (about 520 lines) because the browser receives it as one file.
 */
export const PLAYGROUND_JS = String.raw`// Yi-VL playground: plain browser JavaScript, no build step, no third-party code.
const KEY_STORE = 'yi-vl-playground.api-key';
const TERMINAL = ['succeeded', 'failed', 'canceled'];
// Short waits, so a change from queued to running shows within a second; the request still returns at once on the end.
const WAIT_SECONDS = 1;

const $ = (id) => document.getElementById(id);
const el = {
  ask: $('ask'),
  key: $('api-key'),
  image: $('image'),
  drop: $('drop'),
  prompt: $('prompt'),
  maxTokens: $('max-tokens'),
  temperature: $('temperature'),
  schema: $('schema'),
  submit: $('submit'),
  error: $('error'),
  errorTitle: $('error-title'),
  errorDetail: $('error-detail'),
  errorList: $('error-list'),
  run: $('run'),
  status: $('status'),
  elapsed: $('elapsed'),
  steps: $('steps'),
  thread: $('thread'),
  original: $('original'),
  originalCaption: $('original-caption'),
  modelInputFigure: $('model-input-figure'),
  modelInput: $('model-input'),
  modelInputCaption: $('model-input-caption'),
  followup: $('followup'),
  followupPrompt: $('followup-prompt'),
  followupSubmit: $('followup-submit'),
  curl: $('curl'),
  copy: $('copy-curl'),
  copyStatus: $('copy-status'),
  batch: $('batch'),
  batchFile: $('batch-file'),
  batchSubmit: $('batch-submit'),
  batchRun: $('batch-run'),
  batchStatus: $('batch-status'),
  batchProgress: $('batch-progress'),
  batchCounts: $('batch-counts'),
  batchCancel: $('batch-cancel'),
  batchDownload: $('batch-download'),
};

const state = { busy: false, lastSucceeded: null, originalUrl: null, inputUrl: null, timer: null };

// --- API key: this tab only ---
el.key.value = sessionStorage.getItem(KEY_STORE) || '';
el.key.addEventListener('input', () => {
  const v = el.key.value.trim();
  if (v) sessionStorage.setItem(KEY_STORE, v);
  else sessionStorage.removeItem(KEY_STORE);
});
const authHeaders = () => ({ authorization: 'Bearer ' + el.key.value.trim() });

// --- image choice and drag and drop ---
function chosenFile() {
  return el.image.files && el.image.files[0] ? el.image.files[0] : null;
}
function showOriginal(file) {
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  state.originalUrl = file ? URL.createObjectURL(file) : null;
  el.original.hidden = false;
  el.originalCaption.textContent = 'Your image';
  if (state.originalUrl) el.original.src = state.originalUrl;
  else el.original.removeAttribute('src');
}
el.original.addEventListener('error', () => {
  if (!el.original.getAttribute('src')) return;
  el.original.hidden = true;
  el.originalCaption.textContent = 'Your file (this browser cannot display it)';
});
el.image.addEventListener('change', () => showOriginal(chosenFile()));
for (const type of ['dragenter', 'dragover']) {
  el.drop.addEventListener(type, (e) => {
    e.preventDefault();
    el.drop.classList.add('over');
  });
}
for (const type of ['dragleave', 'drop']) el.drop.addEventListener(type, () => el.drop.classList.remove('over'));
el.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  if (!e.dataTransfer || !e.dataTransfer.files.length) return;
  el.image.files = e.dataTransfer.files;
  el.image.dispatchEvent(new Event('change'));
});

// --- errors (RFC 9457 problem documents) ---
function clearError() {
  el.error.hidden = true;
  el.errorTitle.textContent = '';
  el.errorDetail.textContent = '';
  el.errorList.replaceChildren();
  el.errorList.hidden = true;
}
function showError(p) {
  el.errorTitle.textContent = p.title || 'Error';
  el.errorDetail.textContent = [p.detail, p.code ? '(' + p.code + ', HTTP ' + p.status + ')' : '']
    .filter(Boolean)
    .join(' ');
  const items = (p.errors || []).map((e) => {
    const li = document.createElement('li');
    li.textContent = (e.path ? e.path + ': ' : '') + e.message;
    return li;
  });
  el.errorList.replaceChildren(...items);
  el.errorList.hidden = items.length === 0;
  el.error.hidden = false;
}
async function problemOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {}
  if (body && typeof body.title === 'string')
    return { title: body.title, detail: body.detail, code: body.code, status: res.status, errors: body.errors };
  return { title: 'HTTP ' + res.status, detail: res.statusText || 'The server did not explain the error.', status: res.status };
}
const networkProblem = (err) => ({ title: 'Network error', detail: String((err && err.message) || err) });

// --- status, progress and elapsed time ---
function seconds(ms) {
  return (ms / 1000).toFixed(1) + ' s';
}
// job null: nothing submitted (yet), no step is current.
function renderSteps(job) {
  const order = ['queued', 'running'];
  const reached = !job ? -1 : job.status === 'queued' ? 0 : job.status === 'running' ? 1 : 2;
  for (const li of el.steps.children) {
    const step = li.dataset.step;
    const index = step === 'queued' ? 0 : step === 'running' ? 1 : 2;
    li.className = '';
    li.removeAttribute('aria-current');
    li.textContent = index === 2 && reached === 2 ? job.status : step;
    if (!job) continue;
    if (index < reached && (order[index] !== 'running' || job.started_at)) li.classList.add('done');
    if (index === reached) {
      if (job.status === 'failed' || job.status === 'canceled') li.classList.add('failed');
      else if (job.status === 'succeeded') li.classList.add('done');
      else li.setAttribute('aria-current', 'step');
    }
  }
}
function setStatus(text) {
  if (el.status.textContent !== text) el.status.textContent = text;
}
function startClock(started) {
  stopClock();
  const tick = () => {
    el.elapsed.textContent = seconds(performance.now() - started);
  };
  tick();
  state.timer = setInterval(tick, 100);
}
function stopClock() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}
function serverTimes(job) {
  const t = (s) => (s ? Date.parse(s) : null);
  const created = t(job.created_at);
  const started = t(job.started_at);
  const done = t(job.completed_at);
  const parts = [];
  if (created && started) parts.push('queued ' + seconds(started - created));
  if (started && done) parts.push('ran ' + seconds(done - started));
  return parts.join(', ');
}

// --- the conversation thread ---
function addRound(question) {
  const li = document.createElement('li');
  li.className = 'round';
  const q = document.createElement('p');
  q.className = 'q';
  q.textContent = 'Q: ' + question;
  const a = document.createElement('p');
  a.className = 'a';
  a.textContent = 'A: …';
  const meta = document.createElement('p');
  meta.className = 'meta';
  li.append(q, a, meta);
  el.thread.append(li);
  return { answer: a, meta };
}
function finishRound(round, job) {
  if (job.status === 'succeeded') {
    round.answer.textContent = 'A: ' + job.output.text;
    round.answer.dataset.jobId = job.id;
    round.answer.classList.add('answer');
    const u = job.usage || {};
    round.meta.textContent =
      job.id + ' · ' + (job.output.completion_tokens ?? u.completion_tokens ?? '?') + ' tokens · ' + job.output.finish_reason +
      ('json' in job.output ? ' · output.json valid against the schema' : '');
  } else {
    round.answer.classList.add('bad');
    round.answer.textContent =
      'Job ' + job.status + (job.error ? ': ' + job.error.code + ' — ' + job.error.message : '.');
    round.meta.textContent = job.id;
  }
}

// --- the model input ("what the model saw") ---
async function showModelInput(jobId) {
  el.modelInputCaption.textContent = 'What the model saw: loading…';
  el.modelInput.hidden = false;
  try {
    const res = await fetch('/v1/jobs/' + encodeURIComponent(jobId) + '/input', { headers: authHeaders() });
    if (!res.ok) {
      const p = await problemOf(res);
      el.modelInputCaption.textContent = 'What the model saw: ' + p.title + (p.detail ? ' — ' + p.detail : '');
      el.modelInputFigure.hidden = false;
      el.modelInput.hidden = true;
      return;
    }
    const blob = await res.blob();
    if (state.inputUrl) URL.revokeObjectURL(state.inputUrl);
    state.inputUrl = URL.createObjectURL(blob);
    el.modelInput.src = state.inputUrl;
    el.modelInputFigure.hidden = false;
    el.modelInputCaption.textContent = 'What the model saw (448×448, padded to a square)';
  } catch (err) {
    el.modelInputCaption.textContent = 'What the model saw: ' + networkProblem(err).detail;
    el.modelInputFigure.hidden = false;
    el.modelInput.hidden = true;
  }
}
function clearModelInput() {
  if (state.inputUrl) URL.revokeObjectURL(state.inputUrl);
  state.inputUrl = null;
  el.modelInput.removeAttribute('src');
  el.modelInputFigure.hidden = true;
  el.modelInputCaption.textContent = 'What the model saw (448×448, padded to a square)';
}

// --- the equivalent curl command ---
const shq = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";
function curlFor(request, jobUrl) {
  const lines = ['curl -sS -X POST ' + shq(location.origin + '/v1/jobs'), '  -H "Authorization: Bearer $YI_VL_API_KEY"'];
  if (request.file) {
    lines.push('  -F ' + shq('image=@' + request.file));
    for (const [k, v] of Object.entries(request.fields)) lines.push('  --form-string ' + shq(k + '=' + v));
  } else {
    lines.push("  -H 'Content-Type: application/json'", '  -d ' + shq(JSON.stringify(request.fields)));
  }
  let text = lines.join(' \\\n');
  if (jobUrl)
    text +=
      '\n\n# then wait for the answer (up to 30 s per request):\ncurl -sS ' +
      shq(location.origin + jobUrl) +
      ' -H "Authorization: Bearer $YI_VL_API_KEY" -H \'Prefer: wait=30\'';
  return text;
}
el.copy.addEventListener('click', async () => {
  const text = el.curl.textContent;
  try {
    await navigator.clipboard.writeText(text);
    el.copyStatus.textContent = 'Copied.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(el.curl);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    el.copyStatus.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
});

// --- submitting and following a job ---
function options() {
  const fields = {};
  if (el.maxTokens.value.trim()) fields.max_new_tokens = el.maxTokens.value.trim();
  if (el.temperature.value.trim()) fields.temperature = el.temperature.value.trim();
  const schema = el.schema.value.trim();
  if (schema) {
    let parsed;
    try {
      parsed = JSON.parse(schema);
    } catch (err) {
      throw new Error('The JSON schema is not valid JSON: ' + err.message);
    }
    // A multipart form sends response_format as a JSON-encoded text field.
    fields.response_format = JSON.stringify({ type: 'json_schema', json_schema: { name: 'playground', schema: parsed, strict: true } });
  }
  return fields;
}
function optionsOrError() {
  try {
    return options();
  } catch (err) {
    showError({ title: 'Invalid JSON schema', detail: err.message });
    return null;
  }
}
function setBusy(busy) {
  state.busy = busy;
  el.submit.disabled = busy;
  el.followupSubmit.disabled = busy;
  el.run.setAttribute('aria-busy', String(busy));
}
function missing(what, detail) {
  showError({ title: 'Missing ' + what, detail });
}

async function run(question, send, request) {
  clearError();
  setBusy(true);
  el.run.hidden = false;
  el.copyStatus.textContent = '';
  el.curl.textContent = curlFor(request, null);
  const round = addRound(question);
  const started = performance.now();
  startClock(started);
  setStatus('Submitting…');
  renderSteps(null);
  let job = null;
  try {
    const res = await send();
    if (!res.ok) {
      showError(await problemOf(res));
      round.answer.textContent = 'A: (not submitted)';
      round.answer.classList.add('bad');
      renderSteps(null);
      setStatus('Not submitted');
      return null;
    }
    job = await res.json();
    el.curl.textContent = curlFor(request, '/v1/jobs/' + job.id);
    while (true) {
      renderSteps(job);
      setStatus('Status: ' + job.status);
      if (TERMINAL.includes(job.status)) break;
      const poll = await fetch('/v1/jobs/' + encodeURIComponent(job.id), {
        headers: { ...authHeaders(), prefer: 'wait=' + WAIT_SECONDS },
        cache: 'no-store',
      });
      if (!poll.ok) {
        showError(await problemOf(poll));
        setStatus('Status unknown: the job is still ' + job.status + ' as far as we know');
        return null;
      }
      job = await poll.json();
    }
    finishRound(round, job);
    const times = serverTimes(job);
    el.elapsed.textContent = seconds(performance.now() - started) + (times ? ' (' + times + ')' : '');
    if (job.status === 'succeeded') state.lastSucceeded = job;
    el.followup.hidden = !state.lastSucceeded;
    return job;
  } catch (err) {
    showError(networkProblem(err));
    setStatus('Connection lost');
    return null;
  } finally {
    if (state.timer) {
      stopClock();
      if (!job || !TERMINAL.includes(job.status)) el.elapsed.textContent = seconds(performance.now() - started);
    }
    setBusy(false);
  }
}

el.ask.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (state.busy) return;
  const file = chosenFile();
  const question = el.prompt.value.trim();
  if (!el.key.value.trim()) return missing('API key', 'Paste an API key (yvl_…) first.');
  if (!file) return missing('image', 'Choose or drop an image file.');
  if (!question) return missing('question', 'Type a question about the image.');
  // A new image starts a new conversation.
  state.lastSucceeded = null;
  el.thread.replaceChildren();
  el.followup.hidden = true;
  clearModelInput();
  showOriginal(file);
  const opts = optionsOrError();
  if (!opts) return;
  const fields = { prompt: question, ...opts };
  const form = new FormData();
  form.set('image', file, file.name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const job = await run(
    question,
    () => fetch('/v1/jobs', { method: 'POST', headers: authHeaders(), body: form }),
    { file: file.name || 'image', fields },
  );
  if (job) await showModelInput(job.id);
});

el.followup.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (state.busy || !state.lastSucceeded) return;
  const question = el.followupPrompt.value.trim();
  if (!question) return missing('question', 'Type a follow-up question.');
  const fields = { parent: state.lastSucceeded.id, prompt: question };
  const opts = optionsOrError();
  if (!opts) return;
  if (opts.max_new_tokens) fields.max_new_tokens = Number(opts.max_new_tokens);
  if (opts.temperature) fields.temperature = Number(opts.temperature);
  if (opts.response_format) fields.response_format = JSON.parse(opts.response_format);
  const job = await run(
    question,
    () =>
      fetch('/v1/jobs', {
        method: 'POST',
        headers: { ...authHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify(fields),
      }),
    { file: null, fields },
  );
  if (job && job.status === 'succeeded') el.followupPrompt.value = '';
});

// --- batches: one JSON Lines file, followed with long polls until it ends, results offered as a download ---
const BATCH_ENDED = ['completed', 'canceled'];
const BATCH_WAIT_SECONDS = 10;
const batchState = { id: null, busy: false, resultsUrl: null };

function renderBatch(batch) {
  const c = batch.counts;
  const ended = c.succeeded + c.failed + c.canceled;
  el.batchProgress.max = Math.max(c.total, 1);
  el.batchProgress.value = ended;
  const status = 'Batch ' + batch.id + ': ' + batch.status;
  if (el.batchStatus.textContent !== status) el.batchStatus.textContent = status;
  el.batchCounts.textContent =
    ended + ' of ' + c.total + ' ended · ' + c.succeeded + ' succeeded · ' + c.failed + ' failed · ' + c.running +
    ' running · ' + c.queued + ' queued' + (c.canceled ? ' · ' + c.canceled + ' canceled' : '');
  el.batchCancel.disabled = BATCH_ENDED.includes(batch.status) || batch.status === 'canceling';
}
function setBatchBusy(busy) {
  batchState.busy = busy;
  el.batchSubmit.disabled = busy;
  el.batchRun.setAttribute('aria-busy', String(busy));
}
function clearBatchDownload() {
  if (batchState.resultsUrl) URL.revokeObjectURL(batchState.resultsUrl);
  batchState.resultsUrl = null;
  el.batchDownload.hidden = true;
  el.batchDownload.removeAttribute('href');
}
// The results need the Bearer header, so they are fetched here and offered as a blob download.
async function offerResults(batch) {
  const res = await fetch('/v1/batches/' + encodeURIComponent(batch.id) + '/results', {
    headers: authHeaders(),
    cache: 'no-store',
  });
  if (!res.ok) return showError(await problemOf(res));
  const blob = await res.blob();
  const lines = (await blob.text()).split('\n').filter(Boolean).length;
  clearBatchDownload();
  batchState.resultsUrl = URL.createObjectURL(new Blob([blob], { type: 'application/x-ndjson' }));
  el.batchDownload.href = batchState.resultsUrl;
  el.batchDownload.download = batch.id + '.results.jsonl';
  el.batchDownload.textContent = 'Download results (' + lines + (lines === 1 ? ' line)' : ' lines)');
  el.batchDownload.hidden = false;
}

el.batch.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (batchState.busy) return;
  clearError();
  const file = el.batchFile.files && el.batchFile.files[0];
  if (!el.key.value.trim()) return missing('API key', 'Paste an API key (yvl_…) first.');
  if (!file) return missing('requests file', 'Choose a JSON Lines file with one request per line.');
  const form = new FormData();
  form.set('requests', file, file.name || 'requests.jsonl');
  setBatchBusy(true);
  clearBatchDownload();
  batchState.id = null;
  el.batchRun.hidden = false;
  el.batchCancel.disabled = true;
  el.batchStatus.textContent = 'Submitting…';
  el.batchCounts.textContent = '';
  el.batchProgress.value = 0;
  try {
    const res = await fetch('/v1/batches', { method: 'POST', headers: authHeaders(), body: form });
    if (!res.ok) {
      showError(await problemOf(res));
      el.batchStatus.textContent = 'Not submitted';
      return;
    }
    let batch = await res.json();
    batchState.id = batch.id;
    while (true) {
      renderBatch(batch);
      if (BATCH_ENDED.includes(batch.status)) break;
      const poll = await fetch('/v1/batches/' + encodeURIComponent(batch.id), {
        headers: { ...authHeaders(), prefer: 'wait=' + BATCH_WAIT_SECONDS },
        cache: 'no-store',
      });
      if (!poll.ok) {
        showError(await problemOf(poll));
        el.batchStatus.textContent = 'Status unknown: batch ' + batch.id + ' is still ' + batch.status + ' as far as we know';
        return;
      }
      batch = await poll.json();
    }
    await offerResults(batch);
  } catch (err) {
    showError(networkProblem(err));
    el.batchStatus.textContent = 'Connection lost';
  } finally {
    setBatchBusy(false);
  }
});

el.batchCancel.addEventListener('click', async () => {
  if (!batchState.id) return;
  el.batchCancel.disabled = true;
  try {
    const res = await fetch('/v1/batches/' + encodeURIComponent(batchState.id) + '/cancel', {
      method: 'POST',
      headers: authHeaders(),
    });
    if (!res.ok) {
      showError(await problemOf(res));
      return;
    }
    // The long poll picks up the rest; show "canceling" now.
    renderBatch(await res.json());
  } catch (err) {
    showError(networkProblem(err));
    el.batchCancel.disabled = false;
  }
});
`;
