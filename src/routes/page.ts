import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { UserRow } from '../repos/users.js';
import { expectedAnswer } from '../http/error-answers.js';
import { publicBaseUrl } from '../http/public-url.js';
import { parseEnableForm, typedUsername } from '../page/enable-form.js';
import { isSameOriginPost } from '../page/same-origin.js';
import { renderSetupPage, type Notice } from '../page/setup-page.js';
import { PAGE_CSS_HASH } from '../page/style.js';

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

/**
 * `BASE`: the page people open in a browser to set up their reader, and `BASE/enable`, where its form
 * signs in with Calibre-Web credentials to enable stock KOReader's key (docs/PROTOCOL.md §3.5).
 */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  const { config, authenticator, syncKeys } = app.kosync;

  const render = (request: FastifyRequest, reply: FastifyReply, status: number, state: PageState, headers: Record<string, string> = {}) => {
    const serverUrl = publicBaseUrl(request, config.basePath);
    const html = renderSetupPage({
      serverUrl,
      pluginUrl: config.basePath.endsWith(CWA_PLUGIN_SUFFIX) ? serverUrl.slice(0, -CWA_PLUGIN_SUFFIX.length) : undefined,
      formAction: formActionFor(request.url, request.routeOptions.url?.endsWith('/enable') ?? false),
      recordsOnLogin: config.recordKeysOnLogin,
      ...state,
    });
    return reply
      .code(status)
      .headers({ ...PAGE_HEADERS, ...headers })
      .type('text/html; charset=utf-8')
      .send(html);
  };

  const page = async (request: FastifyRequest, reply: FastifyReply) => render(request, reply, 200, {});
  app.get('/', page);
  app.get('/enable', page);

  app.post('/enable', async (request, reply) => {
    if (!isSameOriginPost(request)) {
      return render(request, reply, 403, {
        notice: { kind: 'error', text: 'This form can only be sent from this page. Reload it and try again.' },
      });
    }
    const form = parseEnableForm(request.headers['content-type'], request.body);
    if (!form) {
      return render(request, reply, 400, {
        username: typedUsername(request.body),
        notice: { kind: 'error', text: 'Enter your Calibre-Web username and password.' },
      });
    }
    let user: UserRow;
    try {
      // The authenticator's own check, so Guest, LDAP and the failed-login limit apply as for any login.
      ({ user } = await authenticator.authenticateCredentials(
        { scheme: 'basic', username: form.username, secret: form.password },
        request.ip,
        request.lockDeadline,
      ));
    } catch (error) {
      const answer = expectedAnswer(error, request, config.basePath);
      if (!answer) throw error;
      const failed = answer.kind === 'unauthorized';
      return render(
        request,
        reply,
        failed ? 403 : answer.status,
        { username: form.username, notice: { kind: 'error', text: failed ? 'Wrong username or password.' : answer.message } },
        { ...answer.headers },
      );
    }
    await syncKeys.enable(user, form.password);
    return render(request, reply, 200, { notice: { kind: 'ok', user: user.name } });
  });
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
