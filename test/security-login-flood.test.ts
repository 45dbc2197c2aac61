import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { basic, testApp, type TestApp } from './support/app.js';
import { listenOnLoopback } from './support/ports.js';
import { DAVE } from './support/requests.js';

/** Linux routes all of 127.0.0.0/8 to the loopback interface: each flooder gets an address of its own. */
const FLOODERS = 24;
const CONNECTIONS_PER_FLOODER = 2;
/** A flood runs until the test stops it, and never longer than this. */
const FLOOD_LIMIT_MS = 20_000;

/** One login over a fresh TCP connection from `localAddress`; resolves with the status. */
function login(port: number, localAddress: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: '/kosync/users/auth', localAddress, agent: false, headers },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const onLinux = process.platform === 'linux';
describe.skipIf(!onLinux)(
  `a flood of wrong passwords from many addresses${onLinux ? '' : ' (skipped: only Linux routes all of 127/8 to loopback)'}`,
  () => {
    it("spends each address's failure budget on refusals too, so a new login from elsewhere is served while it goes on", async () => {
      // A small queue (one check running, four waiting) that 24 addresses could keep full forever if
      // refused attempts cost them nothing.
      t = await testApp({ library: null, env: { KOSYNC_VERIFY_CONCURRENCY: '1', KOSYNC_VERIFY_QUEUE: '4' } });
      const port = await listenOnLoopback(t.app);

      let stopped = false;
      const until = Date.now() + FLOOD_LIMIT_MS;
      const statuses = new Map<string, number[]>();
      const connectionsRefused = new Set<string>();
      let sentWhileLegitimatePending = 0;
      let legitimatePending = false;
      const flood = async (address: string, connection: number) => {
        for (let n = 0; !stopped && Date.now() < until; n++) {
          if (legitimatePending) sentWhileLegitimatePending++;
          // A different unknown username each time (a spray), so no username's own waits slow the flood.
          const status = await login(port, address, basic(`spray-${address}-${connection}-${n}`, 'wrong'));
          statuses.get(address)!.push(status);
          if (status === 429) {
            connectionsRefused.add(`${address}#${connection}`);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }
      };
      const flooders: Promise<void>[] = [];
      for (let i = 1; i <= FLOODERS; i++) {
        const address = `127.0.${i}.1`;
        statuses.set(address, []);
        for (let c = 0; c < CONNECTIONS_PER_FLOODER; c++) flooders.push(flood(address, c));
      }

      try {
        // Every connection has been told 429, so none of its requests is in the queue any more: each
        // address spent its budget of 10, 503s included, within moments.
        await vi.waitFor(() => expect(connectionsRefused.size).toBe(FLOODERS * CONNECTIONS_PER_FLOODER), {
          timeout: FLOOD_LIMIT_MS,
          interval: 50,
        });
        legitimatePending = true;
        const legitimate = await login(port, '127.0.200.1', DAVE);
        legitimatePending = false;
        expect(legitimate).toBe(200);
        expect(sentWhileLegitimatePending).toBeGreaterThan(0); // the flood went on meanwhile
      } finally {
        stopped = true;
        await Promise.all(flooders);
      }

      // Exactly ten checked or refused (401 or 503) per address: refusals count against its limit.
      const spent = [...statuses].map(([address, seen]) => ({
        address,
        spent: seen.filter((s) => s === 401 || s === 503).length,
        other: seen.filter((s) => ![401, 503, 429].includes(s)),
      }));
      expect(spent).toEqual([...statuses.keys()].map((address) => ({ address, spent: 10, other: [] })));
    });
  },
);
