import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caddy, caddyMissing, startCaddy } from './support/caddy.js';
import { addressSeenThrough, CLIENT_ADDRESS, HOST, type ProxiedSidecar, send, startProxiedSidecar } from './support/proxied-requests.js';
import { BOOK1_EPUB, DAVE } from './support/requests.js';
import { skipWithout } from './support/system.js';

describe.skipIf(skipWithout(caddyMissing(), 'the Caddy tests'))(
  'the Caddy recipe docker/Caddyfile, in front of the sidecar and Calibre-Web',
  () => {
    let behind: ProxiedSidecar;
    let caddy: Caddy | undefined;
    let withTap: Caddy | undefined;

    beforeAll(async () => {
      behind = await startProxiedSidecar();
      caddy = await startCaddy({ sidecarPort: behind.sidecarPort, calibreWebPort: behind.calibreWebPort });
      withTap = await startCaddy({ sidecarPort: behind.sidecarPort, calibreWebPort: behind.calibreWebPort, downloadTap: true });
    });

    afterAll(async () => {
      await caddy?.stop();
      await withTap?.stop();
      await behind?.close();
    });

    it('passes a push and a pull through, JSON type untouched', async () => {
      const port = caddy!.port;
      const body = JSON.stringify({
        document: BOOK1_EPUB,
        progress: '/body/DocFragment[3]',
        percentage: 0.5,
        device: 'Kobo',
        device_id: 'K2',
      });
      const push = await send(port, 'PUT', '/kosync/syncs/progress', { ...DAVE, 'content-type': 'application/json' }, body);
      expect([push.status, push.headers['content-type']]).toEqual([200, 'application/json']);
      const pull = await send(port, 'GET', `/kosync/syncs/progress/${BOOK1_EPUB}`, DAVE);
      expect(pull.status).toBe(200);
      expect(JSON.parse(pull.body)).toMatchObject({
        document: BOOK1_EPUB,
        progress: '/body/DocFragment[3]',
        percentage: 0.5,
        device: 'Kobo',
      });
    });

    it.each(['/kosync', '/kosync/'])('serves the page at %s with the address the reader used, no redirect', async (path) => {
      const answer = await send(caddy!.port, 'GET', path);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.body).toContain(`http://${HOST}:${caddy!.port}/kosync`);
    });

    it.each(['/', '/login', '/kosyncx', '/opds/kosync', '/download/1/epub'])('sends %s to Calibre-Web', async (path) => {
      const answer = await send(caddy!.port, 'GET', path);
      expect([answer.status, answer.body]).toEqual([200, `calibre-web stub: GET ${path}`]);
    });

    it("clears a reader's own copy of Calibre-Web's login header, so it never reaches the sidecar", async () => {
      const direct = await send(behind.sidecarPort, 'GET', '/kosync/users/auth', { 'x-remote-user': 'dave' });
      expect([direct.status, JSON.parse(direct.body)]).toEqual([200, { authorized: 'OK' }]);

      const before = behind.received.length;
      for (const name of ['X-Remote-User', 'x-remote-user']) {
        const answer = await send(caddy!.port, 'GET', '/kosync/users/auth', { [name]: 'dave' });
        expect([answer.status, JSON.parse(answer.body)]).toEqual([401, { code: 2001, message: 'Unauthorized' }]);
      }
      const viaCaddy = behind.received.slice(before);
      expect(viaCaddy.map((r) => r.url)).toEqual(['/kosync/users/auth', '/kosync/users/auth']);
      for (const { headers } of viaCaddy) expect(headers['x-remote-user']).toBeUndefined();
    });

    it("lets the sidecar see the reader's own address, not the proxy's", async () => {
      expect(await addressSeenThrough(caddy!.port, behind)).toBe(CLIENT_ADDRESS);
    });

    it.each([
      '/download/1/epub',
      '/download/1/epub/The%20Quiet%20Lighthouse.epub',
      '/opds/download/1/epub/',
      '/kobo/abc123/download/1/epub',
    ])("with its download-tap block on, sends Calibre-Web's download route %s to the sidecar, path unchanged", async (path) => {
      const before = behind.received.length;
      await send(withTap!.port, 'GET', path);
      expect(behind.received.slice(before).map((r) => r.url)).toEqual([path]);
    });

    it('with its download-tap block on, still sends the rest to Calibre-Web and /kosync to the sidecar', async () => {
      expect((await send(withTap!.port, 'GET', '/opds')).body).toBe('calibre-web stub: GET /opds');
      const auth = await send(withTap!.port, 'GET', '/kosync/users/auth', DAVE);
      expect([auth.status, JSON.parse(auth.body)]).toEqual([200, { authorized: 'OK' }]);
    });
  },
);
