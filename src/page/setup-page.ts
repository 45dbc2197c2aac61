import { escapeHtml as h } from '../http/html.js';
import { PAGE_CSS } from './style.js';

export type Notice = { kind: 'ok'; user: string } | { kind: 'error'; text: string };

interface SetupPageView {
  /** The URL stock KOReader and Readest take: the scheme, host and BASE this page was reached at. */
  serverUrl: string;
  /** What CWA's plugin takes (it appends `/kosync` itself); undefined when BASE does not end in /kosync. */
  pluginUrl: string | undefined;
  /** The form's action, relative to this page's own URL so it survives a reverse proxy's prefix. */
  formAction: string;
  /** The username to fill in again after a failed attempt. */
  username?: string;
  notice?: Notice;
  /** Whether a successful Basic login also enables the key (KOSYNC_RECORD_KEYS_ON_LOGIN). */
  recordsOnLogin: boolean;
  /** The signed-in reader's part (src/page/account-page.ts), or where the sign-in form posts when nobody is signed in. */
  account: { html: string } | { signInAction: string };
}

/** The HTML of the `BASE` page: setup for stock KOReader, CWA's plugin and Readest, and the enable form. */
export function renderSetupPage(view: SetupPageView): string {
  const url = h(view.serverUrl);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>KOReader sync · Calibre-Web</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<main>
<header>
<h1>KOReader sync</h1>
<p>Reading progress for your Calibre-Web library, shared between KOReader devices and Calibre-Web.</p>
</header>
${noticeHtml(view.notice, url)}
${'html' in view.account ? view.account.html : signInHtml(view.account.signInAction)}
<section aria-labelledby="server">
<h2 id="server">Server address</h2>
<span class="url" id="server-url">${url}</span>
<p class="muted">Enter it exactly like this, with no slash at the end.</p>
</section>

<section aria-labelledby="enable">
<h2 id="enable">Enable KOReader’s own sync</h2>
<p>KOReader’s built-in <em>Progress sync</em> does not send your password, only a key made from it, which
Calibre-Web cannot check by itself. Sign in here once with your Calibre-Web username and password to
enable it for your account.</p>
<form method="post" action="${h(view.formAction)}" accept-charset="utf-8">
<label>Username
<input name="username" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required maxlength="100"
 value="${h(view.username ?? '')}">
</label>
<label>Password
<input name="password" type="password" autocomplete="current-password" required maxlength="1024">
</label>
<button type="submit">Enable KOReader sync</button>
</form>
<p class="muted">Changed your Calibre-Web password? Sign in here again, then log in again in KOReader.${
    view.recordsOnLogin ? ' Logging in once from CWA’s plugin enables it too.' : ''
  }</p>
</section>

<section aria-labelledby="koreader">
<h2 id="koreader">Stock KOReader (no plugin)</h2>
<ol>
<li>Enable sync for your account with the form above.</li>
<li>In KOReader, open a book, then the top menu: <strong>Tools</strong> (the wrench icon) → <strong>Progress sync</strong> →
<strong>Custom sync server</strong>, and enter <code>${url}</code>.</li>
<li>Choose <strong>Register / Login</strong>, type your Calibre-Web username and password, and tap
<strong>Login</strong>. <strong>Register</strong> does not create accounts: they come from Calibre-Web.</li>
<li>Leave <strong>Document matching method</strong> on <em>Binary</em>: that is how books are matched to your library.</li>
<li id="send-metadata">Turn on <strong>Send document metadata</strong>, in the same menu (<strong>Tools</strong> →
<strong>Progress sync</strong>; it is off by default). KOReader then sends each book’s title and authors, so a copy you put
on the device yourself, or one that differs from the library’s file, is still matched to its book.</li>
</ol>
</section>

<section aria-labelledby="cwa">
<h2 id="cwa">CWA’s KOReader plugin</h2>
${
  view.pluginUrl === undefined
    ? `<p>CWA’s plugin always adds <code>/kosync</code> to the address it is given, so it works only when this
server is reached under a path ending in <code>/kosync</code>. Use stock KOReader instead.</p>`
    : `<p>In <strong>CWA Progress Sync</strong>, set the server to <code>${h(view.pluginUrl)}</code>
(without <code>/kosync</code>: the plugin adds it), and log in with your Calibre-Web username and
password. Nothing to enable.</p>`
}
</section>

<section aria-labelledby="readest">
<h2 id="readest">Readest and other apps</h2>
<p>Readest, CrossPoint and other apps that speak KOReader’s sync protocol take the full address
<code>${url}</code> with your Calibre-Web username and password. Enable sync above first: they
send the same key as KOReader.</p>
</section>
</main>
</body>
</html>
`;
}

function signInHtml(action: string): string {
  return `<section aria-labelledby="signin">
<h2 id="signin">Your reading</h2>
<p>Sign in with your Calibre-Web account to see what you synced: which book each document is, its position and
history on every device, and to restore an earlier position or link a document to its book.</p>
<form method="post" action="${h(action)}" accept-charset="utf-8">
<label>Username
<input name="username" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required maxlength="100">
</label>
<label>Password
<input name="password" type="password" autocomplete="current-password" required maxlength="1024">
</label>
<button type="submit">Sign in</button>
</form>
</section>`;
}

function noticeHtml(notice: Notice | undefined, url: string): string {
  if (!notice) return '';
  if (notice.kind === 'error') return `<div class="notice error" role="alert">${h(notice.text)}</div>`;
  const user = h(notice.user);
  return `<div class="notice ok" role="status">KOReader sync enabled for ${user}
<p>Now log in from KOReader as <strong>${user}</strong> with the server <code>${url}</code>.</p></div>`;
}
