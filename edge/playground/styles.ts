/** The playground's stylesheet, served as /playground/app.css (a file, because the CSP allows no inline styles). */
export const PLAYGROUND_CSS = `
:root{--fg:#1b1f24;--muted:#535b66;--bg:#fff;--panel:#f5f6f8;--line:#cfd4da;--accent:#1d4ed8;--accent-fg:#fff;
--ok:#166534;--bad:#b42318;--focus:#f59e0b;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;
color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--fg);color:#fff;padding:.5rem 1rem;z-index:1}
.skip:focus{left:.5rem}
.top{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:.5rem 1rem;
padding:.75rem 1rem;border-bottom:1px solid var(--line)}
.top h1{font-size:1.25rem;margin:0}
.top nav{display:flex;gap:1rem;font-size:.95rem}
main{max-width:64rem;margin:0 auto;padding:1rem;display:grid;gap:1.25rem;grid-template-columns:minmax(0,1fr)}
@media (min-width:56rem){main{grid-template-columns:minmax(0,22rem) minmax(0,1fr);align-items:start}}
form{display:grid;gap:.75rem;grid-template-columns:minmax(0,1fr)}
label,legend{font-weight:600}
.field{display:grid;gap:.25rem;grid-template-columns:minmax(0,1fr)}
.side{display:grid;gap:1.25rem;min-width:0;grid-template-columns:minmax(0,1fr)}
.batch-run{display:grid;gap:.5rem}
progress{width:100%;height:1rem;accent-color:var(--accent)}
#batch-counts{font-variant-numeric:tabular-nums}
.results{display:grid;gap:1rem;min-width:0;grid-template-columns:minmax(0,1fr)}
.help{margin:0;color:var(--muted);font-size:.875rem}
input,textarea,button{font:inherit;max-width:100%;min-width:0}
input[type=password],input[type=number],textarea{width:100%;padding:.5rem .6rem;border:1px solid #8a939e;border-radius:6px;
background:#fff;color:var(--fg)}
textarea{min-height:5rem;resize:vertical}
fieldset{min-width:0;margin:0;border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem .75rem;display:grid;gap:.5rem;
grid-template-columns:minmax(0,1fr) minmax(0,1fr);align-items:end}
fieldset legend{padding:0 .25rem}
.drop{border:2px dashed #8a939e;border-radius:8px;padding:.75rem;display:grid;gap:.35rem;background:var(--panel)}
.drop.over{border-color:var(--accent);background:#e8efff}
.drop input[type=file]{max-width:100%}
button{cursor:pointer;border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);border-radius:6px;
padding:.55rem 1rem;font-weight:600;min-height:2.75rem}
button.secondary{background:#fff;color:var(--accent)}
button:disabled{opacity:.55;cursor:not-allowed}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:1rem;display:grid;gap:.9rem;
min-width:0;grid-template-columns:minmax(0,1fr)}
.panel h2{margin:0;font-size:1.1rem}
.panel h3{margin:0 0 .25rem;font-size:1rem}
.status-line{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;margin:0}
.status-line strong{font-size:1.05rem}
#elapsed{font-variant-numeric:tabular-nums;color:var(--muted)}
.steps{list-style:none;display:flex;gap:.35rem;margin:0;padding:0;flex-wrap:wrap}
.steps li{padding:.15rem .6rem;border-radius:999px;border:1px solid var(--line);background:#fff;color:var(--muted);
font-size:.875rem}
.steps li.done{border-color:var(--ok);color:var(--ok)}
.steps li[aria-current=step]{border-color:var(--accent);background:var(--accent);color:#fff}
.steps li.failed{border-color:var(--bad);background:var(--bad);color:#fff}
.thread{display:grid;gap:.75rem;margin:0;padding:0;list-style:none}
.round{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.6rem .75rem}
.round p{margin:.15rem 0;overflow-wrap:anywhere;white-space:pre-wrap}
.round .q{color:var(--muted)}
.round .a.bad{color:var(--bad);font-weight:600}
.round .meta{font-size:.8rem;color:var(--muted)}
.images{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem}
figure{margin:0;display:grid;gap:.25rem}
figure img{width:100%;aspect-ratio:1/1;object-fit:contain;background:repeating-conic-gradient(#e5e7eb 0 25%,#fff 0 50%) 0 0/16px 16px;
border:1px solid var(--line);border-radius:6px}
figcaption{font-size:.85rem;color:var(--muted)}
pre{margin:0 0 .5rem;background:#111827;color:#f3f4f6;padding:.75rem;border-radius:6px;overflow-x:auto;font-size:.8rem;
white-space:pre}
.row{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}
.error{border:2px solid var(--bad);background:#fef3f2;border-radius:8px;padding:.75rem 1rem}
.error h2{margin:0 0 .25rem;font-size:1.05rem;color:var(--bad)}
.error p,.error ul{margin:.25rem 0}
[hidden]{display:none!important}
@media (prefers-reduced-motion:no-preference){button,.drop{transition:background-color .15s,border-color .15s}}
`;

/** The page icon (so the browser's favicon request does not 404). */
export const PLAYGROUND_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4ed8"/>' +
  '<circle cx="16" cy="16" r="7" fill="none" stroke="#fff" stroke-width="3"/><circle cx="16" cy="16" r="2.5" fill="#fff"/></svg>';
