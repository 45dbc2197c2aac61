import { createHash } from 'node:crypto';

/** The setup page's whole stylesheet: plain CSS, light and dark by prefers-color-scheme. */
export const PAGE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f4f1ea; --card: #fffdf8; --text: #23201b; --muted: #6b645a; --line: #e3ddd1;
  --accent: #8a4b20; --accent-text: #fff; --code: #f0ebe0; --ok-bg: #e6f2e6; --ok: #1f5e2a;
  --err-bg: #f9e4e1; --err: #8c2418; --focus: #c77a3c; --input: #fff; --input-line: #cfc7b8;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #171614; --card: #211f1c; --text: #ece7de; --muted: #a9a196; --line: #36322d;
    --accent: #e0975a; --accent-text: #1b1410; --code: #2c2925; --ok-bg: #1d3321; --ok: #9bd6a5;
    --err-bg: #3d1f1b; --err: #f3a99d; --focus: #e0975a; --input: #171614; --input-line: #4a453e;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
main { max-width: 42rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
header { margin: .5rem 0 1.5rem; }
header p { margin: .25rem 0 0; color: var(--muted); }
h1 { font-size: 1.6rem; line-height: 1.2; margin: 0; letter-spacing: -.01em; }
h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
h3 { font-size: 1rem; margin: 1.1rem 0 .4rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: .75rem; padding: 1.1rem 1.2rem; margin: 0 0 1rem; }
p { margin: .5rem 0; }
ol, ul { margin: .5rem 0; padding-left: 1.3rem; }
li { margin: .3rem 0; }
code, .url { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .92em; }
code { background: var(--code); padding: .05em .3em; border-radius: .25rem; overflow-wrap: anywhere; }
.url {
  display: block; background: var(--code); border: 1px solid var(--line); border-radius: .5rem;
  padding: .65rem .8rem; font-size: 1rem; overflow-wrap: anywhere; user-select: all;
}
.muted { color: var(--muted); font-size: .93rem; }
.notice { border-radius: .6rem; padding: .8rem 1rem; margin: 0 0 1rem; font-weight: 600; }
.notice p { font-weight: 400; margin: .35rem 0 0; }
.ok { background: var(--ok-bg); color: var(--ok); }
.error { background: var(--err-bg); color: var(--err); }
form { display: grid; gap: .85rem; margin-top: .8rem; }
label { display: grid; gap: .3rem; font-weight: 600; font-size: .95rem; }
input {
  font: inherit; font-size: 1rem; width: 100%; padding: .65rem .75rem; color: var(--text);
  background: var(--input); border: 1px solid var(--input-line); border-radius: .5rem;
}
input:focus, button:focus { outline: 2px solid var(--focus); outline-offset: 1px; }
button {
  font: inherit; font-weight: 600; padding: .7rem 1rem; border: 0; border-radius: .5rem; cursor: pointer;
  background: var(--accent); color: var(--accent-text);
}
@media (min-width: 34rem) { button { justify-self: start; padding: .65rem 1.4rem; } }
button.secondary { background: var(--code); color: var(--text); border: 1px solid var(--input-line); }
form.inline { display: inline-block; margin: .2rem 0; }
form.inline button { padding: .35rem .8rem; font-size: .9rem; }
form.search { margin-top: .6rem; }
article.document { border-top: 1px solid var(--line); padding: .8rem 0 .4rem; overflow-wrap: anywhere; }
article.document h3 { margin-top: 0; }
.reason { color: var(--err); }
details { margin: .5rem 0; }
summary { cursor: pointer; font-weight: 600; }
ol.history li { margin: .4rem 0; }
`;

/** For the Content-Security-Policy: the inline stylesheet is the only style the page may use. */
export const PAGE_CSS_HASH = `'sha256-${createHash('sha256').update(PAGE_CSS, 'utf8').digest('base64')}'`;
