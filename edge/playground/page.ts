/**
 * The playground's HTML. Static markup only: the script (/playground/app.js) and stylesheet (/playground/app.css) are
 * separate same-origin files so the Content-Security-Policy can forbid every inline script and style.
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Playground · yi-vl-pipeline</title>
<meta name="description" content="Try the Yi-VL image-analysis API in the browser: upload an image, ask a question, see what the model saw.">
<link rel="icon" href="/playground/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/playground/app.css">
<script type="module" src="/playground/app.js"></script>
</head>
<body>
<a class="skip" href="#ask">Skip to the form</a>
<header class="top">
  <h1>Yi-VL playground</h1>
  <nav aria-label="API reference">
    <a href="/docs">API docs</a>
    <a href="/openapi.json">OpenAPI</a>
  </nav>
</header>
<main>
  <div class="side">
  <form id="ask" class="panel" aria-labelledby="ask-title">
    <h2 id="ask-title">Ask about an image</h2>
    <div class="field">
      <label for="api-key">API key</label>
      <input id="api-key" name="api_key" type="password" autocomplete="off" spellcheck="false" required
        aria-describedby="api-key-help" placeholder="yvl_…">
      <p id="api-key-help" class="help">Kept in this browser tab only (sessionStorage), sent as <code>Authorization: Bearer</code>.</p>
    </div>
    <div id="drop" class="drop field">
      <label for="image">Image</label>
      <input id="image" name="image" type="file" required aria-describedby="image-help"
        accept="image/jpeg,image/png,image/webp,image/gif,image/avif">
      <p id="image-help" class="help">JPEG, PNG, WebP, GIF or AVIF. Choose a file or drop it here.</p>
    </div>
    <div class="field">
      <label for="prompt">Question</label>
      <textarea id="prompt" name="prompt" required maxlength="4000" aria-describedby="prompt-help"
        placeholder="What is in this picture?"></textarea>
      <p id="prompt-help" class="help">English or Chinese, e.g. 这张图片里有什么？</p>
    </div>
    <fieldset>
      <legend>Options</legend>
      <div class="field">
        <label for="max-tokens">Max new tokens</label>
        <input id="max-tokens" name="max_new_tokens" type="number" min="1" max="2048" step="1" inputmode="numeric"
          placeholder="512">
      </div>
      <div class="field">
        <label for="temperature">Temperature</label>
        <input id="temperature" name="temperature" type="number" min="0" max="2" step="0.05" inputmode="decimal"
          placeholder="0.2">
      </div>
      <div class="field">
        <label for="schema">JSON schema (optional)</label>
        <textarea id="schema" name="schema" spellcheck="false" aria-describedby="schema-help"
          placeholder='{"type": "object", "properties": {"animal": {"enum": ["cat", "dog", "other"]}}, "required": ["animal"]}'></textarea>
        <p id="schema-help" class="help">The answer will be a JSON document valid against this schema (docs/api.md lists the supported keywords).</p>
      </div>
    </fieldset>
    <button id="submit" type="submit">Analyze image</button>
  </form>

  <form id="batch" class="panel" aria-labelledby="batch-title">
    <h2 id="batch-title">Batch</h2>
    <div class="field">
      <label for="batch-file">Requests file (JSON Lines)</label>
      <input id="batch-file" name="requests" type="file" required aria-describedby="batch-file-help"
        accept=".jsonl,.ndjson,application/x-ndjson,application/jsonl,text/plain">
      <p id="batch-file-help" class="help">One request per line: <code>custom_id</code>, <code>image_url</code> (https or a base64 <code>data:</code> URL), <code>prompt</code>. Runs behind interactive jobs; uses the API key above.</p>
    </div>
    <button id="batch-submit" type="submit">Submit batch</button>
    <div id="batch-run" class="batch-run" aria-labelledby="batch-title" hidden>
      <p class="status-line"><span id="batch-status" role="status" aria-live="polite"></span></p>
      <progress id="batch-progress" max="1" value="0" aria-label="Items ended"></progress>
      <p id="batch-counts" class="help"></p>
      <div class="row">
        <button id="batch-cancel" class="secondary" type="button">Cancel batch</button>
        <a id="batch-download" hidden>Download results</a>
      </div>
    </div>
  </form>
  </div>

  <div class="results">
    <section id="error" class="error" role="alert" aria-labelledby="error-title" hidden>
      <h2 id="error-title"></h2>
      <p id="error-detail"></p>
      <ul id="error-list" hidden></ul>
    </section>

    <section id="run" class="panel" aria-labelledby="run-title" hidden>
      <h2 id="run-title">Job</h2>
      <p class="status-line">
        <span id="status" role="status" aria-live="polite"></span>
        <span id="elapsed"></span>
      </p>
      <ol id="steps" class="steps" aria-label="Job progress">
        <li data-step="queued">queued</li>
        <li data-step="running">running</li>
        <li data-step="succeeded">succeeded</li>
      </ol>
      <ol id="thread" class="thread" aria-label="Questions and answers" aria-live="polite"></ol>
      <div class="images">
        <figure>
          <img id="original" alt="The image you chose">
          <figcaption id="original-caption">Your image</figcaption>
        </figure>
        <figure id="model-input-figure" hidden>
          <img id="model-input" alt="The 448×448 image the model received">
          <figcaption id="model-input-caption">What the model saw (448×448, padded to a square)</figcaption>
        </figure>
      </div>
      <form id="followup" hidden>
        <div class="field">
          <label for="followup-prompt">Follow-up question about the same image</label>
          <textarea id="followup-prompt" name="prompt" required maxlength="4000"
            placeholder="And what colour is it? / 它是什么颜色？"></textarea>
        </div>
        <button id="followup-submit" type="submit">Ask follow-up</button>
      </form>
      <div>
        <h3 id="curl-title">Equivalent curl</h3>
        <p class="help">Set <code>YI_VL_API_KEY</code> to your key first.</p>
        <pre aria-labelledby="curl-title"><code id="curl"></code></pre>
        <div class="row">
          <button id="copy-curl" class="secondary" type="button">Copy curl command</button>
          <span id="copy-status" role="status"></span>
        </div>
      </div>
    </section>
  </div>
</main>
</body>
</html>
`;
