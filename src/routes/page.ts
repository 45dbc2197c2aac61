import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { UserRow } from '../repos/users.js';
import { expectedAnswer } from '../http/error-answers.js';
import { publicBaseUrl } from '../http/public-url.js';
import { isSameOriginPost } from '../http/same-origin.js';
import { clearSessionCookie, sessionIdOf, sessionUser, setSessionCookie } from '../http/session-sign-in.js';
import { renderAccount } from '../page/account-page.js';
import { parseAccountForm, parseEnableForm, typedUsername } from '../page/enable-form.js';
import { renderSetupPage, type Notice } from '../page/setup-page.js';
import { PAGE_CSS_HASH } from '../page/style.js';
import { isValidDocument } from '../sync/progress-body.js';

/** CWA's plugin appends this to the server it is given (docs/UPSTREAM.md#cwa-its-koreader-plugin). */
const CWA_PLUGIN_SUFFIX = '/kosync';

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': `default-src 'none'; style-src ${PAGE_CSS_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

interface PageState {
  username?: string;
  notice?: Notice;
}

const CROSS_SITE: Notice = { kind: 'error', text: 'This form can only be sent from this page. Reload it and try again.' };

/**
 * `BASE`: the page people open in a browser to set up their reader, and `BASE/enable`, where its form
 * signs in with Calibre-Web credentials to enable stock KOReader's key (docs/PROTOCOL.md §3.5). Signed in
 * (`BASE/signin`, a session cookie), it shows the reader's own sync and lets them restore, link and
 * revoke (`BASE/account/…`, docs/PROTOCOL.md §9.4); every form is a same-origin POST, answered with a
 * 303 back to the page.
 */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  const { config, authenticator, syncKeys, sessions, account } = app.kosync;

  const accountHtml = async (request: FastifyRequest, user: UserRow) => {
    const documents = await account.documents(user, request.log, request.lockDeadline);
    const { link, q } = request.query as { link?: unknown; q?: unknown };
    const query = typeof q === 'string' ? q.trim().slice(0, 200) : '';
    const search =
      typeof link === 'string' && query !== '' && documents.some((d) => d.document === link)
        ? { document: link, query, books: account.books(query) }
        : undefined;
    return renderAccount({
      user: user.name,
      documents,
      history: new Map(documents.map((d) => [d.document, account.history(user, d.document)])),
      key: syncKeys.status(user),
      ...(search ? { search } : {}),
      base: toBase(request.url, config.basePath),
    });
  };

  const render = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    state: PageState,
    headers: Record<string, string> = {},
  ) => {
    const serverUrl = publicBaseUrl(request, config.basePath);
    const user = await sessionUser(request, sessions);
    const html = renderSetupPage({
      serverUrl,
      pluginUrl: config.basePath.endsWith(CWA_PLUGIN_SUFFIX) ? serverUrl.slice(0, -CWA_PLUGIN_SUFFIX.length) : undefined,
      formAction: formActionFor(request.url, request.routeOptions.url?.endsWith('/enable') ?? false),
      recordsOnLogin: config.recordKeysOnLogin,
      account: user ? { html: await accountHtml(request, user) } : { signInAction: `${toBase(request.url, config.basePath)}signin` },
      ...state,
    });
    return reply
      .code(status)
      .headers({ ...PAGE_HEADERS, ...headers })
      .type('text/html; charset=utf-8')
      .send(html);
  };

  /** Back to the page (303: the browser GETs it), relative so a reverse proxy's prefix is kept. */
  const backToPage = (request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(303)
      .headers({ 'cache-control': 'no-store', location: toBase(request.url, config.basePath) || './' })
      .send();

  /** Signs in with the form's credentials as any login does; the user, or the page answering why not. */
  const signInWithForm = async (request: FastifyRequest, reply: FastifyReply) => {
    const form = parseEnableForm(request.headers['content-type'], request.body);
    if (!form) {
      await render(request, reply, 400, {
        username: typedUsername(request.body),
        notice: { kind: 'error', text: 'Enter your Calibre-Web username and password.' },
      });
      return undefined;
    }
    try {
      // The authenticator's own check, so Guest, LDAP and the failed-login limit apply as for any login.
      const { user } = await authenticator.authenticateCredentials(
        { scheme: 'basic', username: form.username, secret: form.password },
        request.ip,
        request.lockDeadline,
      );
      return { user, password: form.password };
    } catch (error) {
      const answer = expectedAnswer(error, request, config.basePath);
      if (!answer) throw error;
      const failed = answer.kind === 'unauthorized';
      await render(
        request,
        reply,
        failed ? 403 : answer.status,
        { username: form.username, notice: { kind: 'error', text: failed ? 'Wrong username or password.' : answer.message } },
        { ...answer.headers },
      );
      return undefined;
    }
  };

  const page = async (request: FastifyRequest, reply: FastifyReply) => render(request, reply, 200, {});
  app.get('/', page);
  app.get('/enable', page);

  app.post('/enable', async (request, reply) => {
    if (!isSameOriginPost(request)) return render(request, reply, 403, { notice: CROSS_SITE });
    const signedIn = await signInWithForm(request, reply);
    if (!signedIn) return reply;
    await syncKeys.enable(signedIn.user, signedIn.password);
    return render(request, reply, 200, { notice: { kind: 'ok', user: signedIn.user.name } });
  });

  app.post('/signin', async (request, reply) => {
    if (!isSameOriginPost(request)) return render(request, reply, 403, { notice: CROSS_SITE });
    const signedIn = await signInWithForm(request, reply);
    if (!signedIn) return reply;
    setSessionCookie(reply, request, config.basePath, await sessions.start(signedIn.user), sessions.maxAgeSeconds);
    return backToPage(request, reply);
  });

  app.post('/signout', async (request, reply) => {
    if (!isSameOriginPost(request)) return render(request, reply, 403, { notice: CROSS_SITE });
    const id = sessionIdOf(request);
    if (id !== undefined) await sessions.end(id);
    clearSessionCookie(reply, request, config.basePath);
    return backToPage(request, reply);
  });

  /** A form of the signed-in page: same origin, a live session, then `act`; a failure is shown on the page. */
  const accountAction =
    (act: (user: UserRow, form: Record<string, string>, request: FastifyRequest) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (!isSameOriginPost(request)) return render(request, reply, 403, { notice: CROSS_SITE });
      const user = await sessionUser(request, sessions);
      if (!user) return render(request, reply, 403, { notice: { kind: 'error', text: 'Your session has ended: sign in again.' } });
      const form = parseAccountForm(request.headers['content-type'], request.body);
      if (!form || (form.document !== undefined && !isValidDocument(form.document))) {
        return render(request, reply, 400, { notice: { kind: 'error', text: 'This form was not sent as the page makes it.' } });
      }
      try {
        await act(user, form, request);
      } catch (error) {
        const answer = expectedAnswer(error, request, config.basePath);
        if (!answer) throw error;
        return render(request, reply, answer.status, { notice: { kind: 'error', text: answer.message } }, { ...answer.headers });
      }
      return backToPage(request, reply);
    };

  app.post(
    '/account/restore',
    accountAction((user, form, request) =>
      account.restore(user, form.document ?? '', Number(form.timestamp), request.log, request.lockDeadline),
    ),
  );
  app.post(
    '/account/link',
    accountAction((user, form, request) =>
      account.link(user, form.document ?? '', Number(form.book_id), request.log, request.lockDeadline),
    ),
  );
  app.post(
    '/account/unlink',
    accountAction((user, form, request) => account.unlink(user, form.document ?? '', request.log, request.lockDeadline)),
  );
  app.post(
    '/account/revoke',
    accountAction((user) => syncKeys.revoke(user)),
  );
};

/**
 * The form's action relative to the URL the browser shows, so it also works when a reverse proxy
 * serves BASE under another prefix: from `…/kosync` it is `kosync/enable`, from `…/kosync/` or
 * `…/kosync/enable` it is `enable`.
 */
function formActionFor(url: string, onEnableRoute: boolean): string {
  const path = url.split('?')[0]!;
  const trailingSlash = path.endsWith('/');
  if (onEnableRoute) return trailingSlash ? '../enable' : 'enable';
  if (trailingSlash) return 'enable';
  return `${path.slice(path.lastIndexOf('/') + 1)}/enable`;
}

/**
 * The path from the URL the browser shows to `BASE/`, relative for the same reason: `kosync/` from
 * `…/kosync`, nothing from `…/kosync/` or `…/kosync/signin`, `../` from `…/kosync/account/link`.
 */
function toBase(url: string, basePath: string): string {
  const path = url.split('?')[0]!.replace(/\/+/g, '/');
  const rest = path.startsWith(basePath) ? path.slice(basePath.length) : path;
  if (rest === '') return `${basePath.slice(basePath.lastIndexOf('/') + 1)}/`;
  return '../'.repeat(Math.max(0, rest.split('/').length - 2));
}
