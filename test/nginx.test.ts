import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0 } from './support/app.js';
import { type Nginx, NGINX_SNIPPET, nginxMissing, startNginx } from './support/nginx.js';
import { addressSeenThrough, CLIENT_ADDRESS, HOST, type ProxiedSidecar, send, startProxiedSidecar } from './support/proxied-requests.js';
import { BOOK1_EPUB, DAVE } from './support/requests.js';
import { skipWithout } from './support/system.js';

describe.skipIf(skipWithout(nginxMissing(), 'the nginx tests'))(
  'the nginx snippet docker/nginx.conf, in front of the sidecar and Calibre-Web',
  () => {
    let behind: ProxiedSidecar;
    let nginx: Nginx | undefined;
    let port: number;

    beforeAll(async () => {
      behind = await startProxiedSidecar();
      nginx = await startNginx({
        sidecarPort: behind.sidecarPort,
        serverName: HOST,
        server: [`include ${NGINX_SNIPPET};`, `location / { proxy_pass http://127.0.0.1:${behind.calibreWebPort}; }`],
      });
      port = nginx.port;
    });

    afterAll(async () => {
      await nginx?.stop();
      await behind?.close();
    });

    it('passes the login check through, JSON type untouched', async () => {
      const answer = await send(port, 'GET', '/kosync/users/auth', { ...DAVE, accept: 'application/vnd.koreader.v1+json' });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(JSON.parse(answer.body)).toEqual({ authorized: 'OK' });
    });

    it('passes a push and a pull through', async () => {
      const push = await send(
        port,
        'PUT',
        '/kosync/syncs/progress',
        { ...DAVE, 'content-type': 'application/json' },
        JSON.stringify({
          document: BOOK1_EPUB,
          progress: '/body/DocFragment[2]/body/p[4]/text().0',
          percentage: 0.42,
          device: 'Kindle',
          device_id: 'K1',
        }),
      );
      expect(push.status).toBe(200);
      expect(JSON.parse(push.body)).toEqual({
        document: BOOK1_EPUB,
        timestamp: Math.floor(T0 / 1_000_000),
        calibre_book_id: 1,
        calibre_book_title: 'The Quiet Lighthouse',
        calibre_book_format: 'EPUB',
        calibre_checksum_version: 'koreader',
      });
      const pull = await send(port, 'GET', `/kosync/syncs/progress/${BOOK1_EPUB}`, DAVE);
      expect(pull.status).toBe(200);
      expect(JSON.parse(pull.body)).toEqual({
        document: BOOK1_EPUB,
        progress: '/body/DocFragment[2]/body/p[4]/text().0',
        percentage: 0.42,
        device: 'Kindle',
        device_id: 'K1',
        timestamp: Math.floor(T0 / 1_000_000),
        calibre_book_id: 1,
        calibre_book_title: 'The Quiet Lighthouse',
        calibre_book_format: 'EPUB',
        calibre_checksum_version: 'koreader',
      });
    });

    it.each(['/kosync', '/kosync/', '//kosync', '/kosync//'])(
      'serves the page at %s with the address the reader used, no redirect',
      async (path) => {
        const answer = await send(port, 'GET', path);
        expect(answer.status).toBe(200);
        expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(answer.body).toContain(`http://${HOST}:${port}/kosync`);
      },
    );

    it.each(['/kosync/users/auth/', '//kosync/users/auth', '/kosync//users/auth'])(
      'answers %s itself, never with a redirect',
      async (path) => {
        const answer = await send(port, 'GET', path, DAVE);
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toEqual({ authorized: 'OK' });
      },
    );

    it.each(['/', '/login', '/kosyncx', '/opds/kosync'])('sends %s to Calibre-Web', async (path) => {
      const answer = await send(port, 'GET', path);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(`calibre-web stub: GET ${path}`);
    });

    it("clears a reader's own copy of Calibre-Web's login header, so it never reaches the sidecar", async () => {
      // Straight from loopback the sidecar would honour it: the proxy is what must stop it.
      const direct = await send(behind.sidecarPort, 'GET', '/kosync/users/auth', { 'x-remote-user': 'dave' });
      expect([direct.status, JSON.parse(direct.body)]).toEqual([200, { authorized: 'OK' }]);

      const before = behind.received.length;
      for (const name of ['X-Remote-User', 'x-remote-user']) {
        const answer = await send(port, 'GET', '/kosync/users/auth', { [name]: 'dave' });
        expect([answer.status, JSON.parse(answer.body)]).toEqual([401, { code: 2001, message: 'Unauthorized' }]);
      }
      const pushed = await send(
        port,
        'PUT',
        '/kosync/syncs/progress',
        { 'x-remote-user': 'admin', 'content-type': 'application/json' },
        '{}',
      );
      expect(pushed.status).toBe(401);
      const viaNginx = behind.received.slice(before);
      expect(viaNginx).toHaveLength(3);
      for (const { headers } of viaNginx) expect(headers['x-remote-user']).toBeUndefined();
    });

    it("lets the sidecar see the reader's own address, not the proxy's", async () => {
      expect(await addressSeenThrough(port, behind)).toBe(CLIENT_ADDRESS);
    });
  },
);
