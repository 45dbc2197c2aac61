import type { DocumentView, Position } from '../account/documents.js';
import { escapeHtml as h } from '../http/html.js';

/** What the signed-in part of the page shows (docs/PROTOCOL.md §9.4). */
export interface AccountView {
  user: string;
  documents: DocumentView[];
  /** Each document's history, newest first. */
  history: Map<string, Position[]>;
  key: { enabledAt: number; lastUsedAt: number | null } | undefined;
  /** A book search for linking one document: its words and what it found. */
  search?: { document: string; query: string; books: { id: number; title: string; authors: string[]; formats: string[] }[] };
  /** Relative path from this page's URL to BASE/ (e.g. `kosync/` from `/kosync`), for forms and links. */
  base: string;
}

const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10} %`;

/** A time as people read it, in UTC (the page has no script to show local time). */
function when(epochSeconds: number | null): string {
  if (epochSeconds === null) return 'unknown time';
  return `${new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const deviceName = (p: Position) => `${h(p.device)}${p.device_id ? ` <span class="muted">(${h(p.device_id)})</span>` : ''}`;

function postButton(action: string, fields: Record<string, string | number>, label: string, kind = ''): string {
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${h(String(value))}">`)
    .join('');
  const button = `<button type="submit" class="${kind}">${h(label)}</button>`;
  return `<form class="inline" method="post" action="${h(action)}">${hidden}${button}</form>`;
}

/** The signed-in reader's sync: their key, devices and documents with history, restore and links. */
export function renderAccount(view: AccountView): string {
  const { base } = view;
  return `<section aria-labelledby="account">
<h2 id="account">Your reading</h2>
<p>Signed in as <strong>${h(view.user)}</strong>.</p>
${postButton(`${base}signout`, {}, 'Sign out', 'secondary')}
<h3>KOReader sync key</h3>
${
  view.key
    ? `<p>Enabled ${when(view.key.enabledAt)}; last used ${view.key.lastUsedAt === null ? 'never' : when(view.key.lastUsedAt)}.</p>
${postButton(`${base}account/revoke`, {}, 'Revoke the key', 'secondary')}`
    : '<p>Not enabled: stock KOReader cannot sync for this account until you enable it below.</p>'
}
<h3>Devices</h3>
${devicesHtml(view)}
</section>
<section aria-labelledby="documents">
<h2 id="documents">Documents</h2>
${view.documents.length === 0 ? '<p>Nothing synced yet.</p>' : view.documents.map((d) => documentHtml(d, view)).join('\n')}
</section>`;
}

function devicesHtml(view: AccountView): string {
  const seen = new Map<string, { position: Position; at: number | null }>();
  const positions = [...view.documents, ...[...view.history.values()].flat()];
  for (const p of positions) {
    const key = `${p.device}\0${p.device_id ?? ''}`;
    const before = seen.get(key);
    if (!before || (p.timestamp ?? 0) > (before.at ?? 0)) seen.set(key, { position: p, at: p.timestamp });
  }
  if (seen.size === 0) return '<p>None yet.</p>';
  const items = [...seen.values()].sort((a, b) => (b.at ?? 0) - (a.at ?? 0));
  return `<ul>${items.map(({ position, at }) => `<li>${deviceName(position)}, last sync ${when(at)}</li>`).join('')}</ul>`;
}

function documentHtml(d: DocumentView, view: AccountView): string {
  const { base } = view;
  const title = d.book ? h(d.book.title) : 'Not matched to a library book';
  const about = d.book
    ? `<p>${h(d.book.authors.join(', '))} · ${h(d.book.format)}${d.match === 'manual' ? ' · linked by you' : ''}</p>${
        d.match === 'manual' ? postButton(`${base}account/unlink`, { document: d.document }, 'Unlink', 'secondary') : ''
      }`
    : `<p class="reason">${h(d.message ?? 'No library is configured.')}</p>${likelyHtml(d, base)}`;
  const history = view.history.get(d.document) ?? [];
  return `<article class="document">
<h3>${title}</h3>
<p class="muted"><code>${h(d.document)}</code></p>
${about}
<p><strong>${percent(d.percentage)}</strong> on ${deviceName(d)}, ${when(d.timestamp)}</p>
${historyHtml(d, history, base)}
${linkHtml(d, view)}
</article>`;
}

const bookLine = (title: string, authors: string[]) => `${h(title)}${authors.length ? ` by ${h(authors.join(', '))}` : ''}`;

const linkButton = (base: string, document: string, bookId: number) =>
  postButton(`${base}account/link`, { document, book_id: bookId }, 'Link to this book');

function likelyHtml(d: DocumentView, base: string): string {
  if (d.likelyBooks.length === 0) return '';
  return `<p>Likely books:</p><ul>${d.likelyBooks
    .map((b) => `<li>${bookLine(b.title, b.authors)} ${linkButton(base, d.document, b.bookId)}</li>`)
    .join('')}</ul>`;
}

function historyHtml(d: DocumentView, history: Position[], base: string): string {
  if (history.length === 0) return '';
  const rows = history
    .map(
      (p) =>
        `<li>${percent(p.percentage)} on ${deviceName(p)}, ${when(p.timestamp)} ${
          p.timestamp === null ? '' : postButton(`${base}account/restore`, { document: d.document, timestamp: p.timestamp }, 'Restore')
        }</li>`,
    )
    .join('');
  return `<details><summary>History (${history.length})</summary><ol class="history">${rows}</ol></details>`;
}

function linkHtml(d: DocumentView, view: AccountView): string {
  const { base, search } = view;
  const here = search?.document === d.document ? search : undefined;
  const results = here
    ? here.books.length === 0
      ? '<p>No book found.</p>'
      : `<ul>${here.books
          .map(
            (b) =>
              `<li>${bookLine(b.title, b.authors)} <span class="muted">${h(b.formats.join(', '))}</span> ` +
              `${linkButton(base, d.document, b.id)}</li>`,
          )
          .join('')}</ul>`
    : '';
  return `<form class="search" method="get" action="${h(base)}#documents" role="search">
<input type="hidden" name="link" value="${h(d.document)}">
<label>${d.book ? 'Link to another book' : 'Link to a library book'}
<input name="q" type="search" placeholder="Title or author" value="${h(here?.query ?? '')}" maxlength="200" required>
</label>
<button type="submit" class="secondary">Search</button>
</form>
${results}`;
}
