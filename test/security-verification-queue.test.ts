import { afterEach, describe, expect, it, vi } from 'vitest';
import { localPasswordVerifier, type PasswordVerifier } from '../src/auth/password-verifier.js';
import { basic, testApp, type TestApp } from './support/app.js';
import { DAVE, signIn } from './support/requests.js';

/** The real check, held back until `open()`: verifications pile up deterministically, no timing involved. */
function gatedVerifier(): PasswordVerifier & { calls: number; close(): void; open(): void } {
  let gate: Promise<void> = Promise.resolve();
  let release = () => {};
  const verifier = Object.assign(
    async (...args: Parameters<PasswordVerifier>) => {
      verifier.calls++;
      await gate;
      return localPasswordVerifier(...args);
    },
    {
      calls: 0,
      close() {
        gate = new Promise<void>((resolve) => (release = resolve));
      },
      open() {
        release();
      },
    },
  );
  return verifier;
}

describe('the cap on concurrent password checks', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 503/1000 at once when the running and waiting slots are full, and lets remembered logins through', async () => {
    const verifier = gatedVerifier();
    t = await testApp({ library: null, verifyPassword: verifier, env: { KOSYNC_VERIFY_CONCURRENCY: '1', KOSYNC_VERIFY_QUEUE: '1' } });
    const login = (headers: Record<string, string>, remoteAddress: string) => signIn(t!.app, headers, remoteAddress);
    expect((await login(DAVE, '198.51.100.1')).statusCode).toBe(200);
    expect(verifier.calls).toBe(1);

    verifier.close();
    // Four wrong passwords at once: whichever two reach the queue first take the running and the waiting
    // slot (and stay there while the gate is closed); the other two are refused without waiting.
    const settled: Array<{ statusCode: number; headers: Record<string, unknown>; body: string }> = [];
    const all = [
      login(basic('dave', 'wrong-1'), '192.0.2.1'),
      login(basic('dave', 'wrong-2'), '192.0.2.2'),
      login(basic('dave', 'wrong-3'), '192.0.2.3'),
      login(basic('erin', 'wrong-4'), '192.0.2.4'),
    ].map((pending) =>
      pending.then((response) => {
        settled.push(response);
        return response;
      }),
    );
    await vi.waitFor(() => expect(settled).toHaveLength(2), { timeout: 20_000 });
    for (const response of settled) {
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.headers['retry-after']).toBe('1');
      expect(response.body).toBe('{"code":1000,"message":"Too many logins being checked, try again later"}');
    }
    const remembered = await login(DAVE, '198.51.100.1');
    expect([remembered.statusCode, remembered.body]).toEqual([200, '{"authorized":"OK"}']);
    // One check running (held at the gate), one waiting; the refused ones never reached the verifier.
    expect(verifier.calls).toBe(2);

    verifier.open();
    expect((await Promise.all(all)).map((r) => r.statusCode).sort()).toEqual([401, 401, 503, 503]);
    expect(verifier.calls).toBe(3);
  });

  it('counts a refused attempt against the address that sent it', async () => {
    const verifier = gatedVerifier();
    t = await testApp({
      library: null,
      verifyPassword: verifier,
      env: {
        KOSYNC_VERIFY_CONCURRENCY: '1',
        KOSYNC_VERIFY_QUEUE: '0',
        KOSYNC_LOGIN_FAILURES_PER_ADDRESS: '2',
        KOSYNC_LOGIN_DELAY_MAX_MS: '0',
      },
    });
    const login = (password: string, remoteAddress = '192.0.2.9') => signIn(t!.app, basic('dave', password), remoteAddress);
    verifier.close();
    const settled: number[] = [];
    const both = [login('wrong-1'), login('wrong-2')].map((pending) =>
      pending.then((r) => {
        settled.push(r.statusCode);
        return r.statusCode;
      }),
    );
    await vi.waitFor(() => expect(settled).toEqual([503]), { timeout: 20_000 });
    verifier.open();
    expect((await Promise.all(both)).sort()).toEqual([401, 503]);
    // Two failures now (the 503 counted): the address is at its limit, even with the right password.
    expect((await login('oldtimer')).statusCode).toBe(429);
    expect((await login('oldtimer', '198.51.100.9')).statusCode).toBe(200);
    expect(verifier.calls).toBe(2);
  });

  it('gives one address at most KOSYNC_VERIFY_PER_ADDRESS places, so another address still gets one', async () => {
    const verifier = gatedVerifier();
    t = await testApp({
      library: null,
      verifyPassword: verifier,
      env: { KOSYNC_VERIFY_CONCURRENCY: '1', KOSYNC_VERIFY_QUEUE: '2', KOSYNC_LOGIN_DELAY_MAX_MS: '0' },
    });
    const login = (headers: Record<string, string>, remoteAddress: string) => signIn(t!.app, headers, remoteAddress);
    verifier.close();
    const settled: string[] = [];
    const track = (name: string, response: ReturnType<typeof login>) =>
      response.then((r) => {
        settled.push(`${name} ${r.statusCode}`);
        return r.statusCode;
      });
    const flood = Array.from({ length: 6 }, (_, i) => track('flood', login(basic(`spray-${i}`, 'x'), '192.0.2.1')));
    // Two of the three places for 192.0.2.1 (one running at the gate, one waiting); four refused at once.
    await vi.waitFor(() => expect(settled).toEqual(Array(4).fill('flood 503')), { timeout: 20_000 });
    const fromElsewhere = track('dave', login(DAVE, '198.51.100.1'));
    // The last place is dave's: a third address now finds every place taken.
    const probe = track('probe', login(basic('erin', 'x'), '203.0.113.1'));
    await vi.waitFor(() => expect(settled).toContain('probe 503'), { timeout: 20_000 });
    verifier.open();
    expect(await fromElsewhere).toBe(200);
    expect(await probe).toBe(503);
    expect((await Promise.all(flood)).sort()).toEqual([401, 401, 503, 503, 503, 503]);
    expect(verifier.calls).toBe(3);
  });

  it('gives a whole IPv6 /48 one share: its /64s together hold at most two places', async () => {
    const verifier = gatedVerifier();
    t = await testApp({
      library: null,
      verifyPassword: verifier,
      env: { KOSYNC_VERIFY_CONCURRENCY: '1', KOSYNC_VERIFY_QUEUE: '16', KOSYNC_LOGIN_DELAY_MAX_MS: '0' },
    });
    const login = (headers: Record<string, string>, remoteAddress: string) => signIn(t!.app, headers, remoteAddress);
    verifier.close();
    const settled: string[] = [];
    const sent = ['2001:db8:1:a::1', '2001:db8:1:b::1', '2001:db8:1:c::1', '2001:db8:2::1'].map((address, i) =>
      login(basic(`spray-${i}`, 'x'), address).then((r) => {
        settled.push(`${address} ${r.statusCode}`);
        return r.statusCode;
      }),
    );
    await vi.waitFor(() => expect(settled).toEqual(['2001:db8:1:c::1 503']), { timeout: 20_000 });
    verifier.open();
    expect(await Promise.all(sent)).toEqual([401, 401, 503, 401]);
  });
});
