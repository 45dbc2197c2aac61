// The image's HEALTHCHECK: asks the server in this container for BASE/healthcheck where it listens
// (KOSYNC_HOST, KOSYNC_PORT and KOSYNC_BASE_PATH, read as src/config.ts reads them) and exits 0 on a
// 200, else 1. A server listening on 0.0.0.0 or :: is asked on loopback: 127.0.0.1, then ::1 for
// `::` (an IPv6 socket also takes IPv4 unless the system makes it IPv6-only). The probe names itself
// in User-Agent, so the server logs its passing probes at debug, not one info line per interval.
import { request } from 'node:http';

const PROBE_TIMEOUT_MS = 2000;

const setting = (name, fallback) => process.env[name]?.trim() || fallback;
const host = setting('KOSYNC_HOST', '0.0.0.0');
const port = Number(setting('KOSYNC_PORT', '8084'));
const path = `${setting('KOSYNC_BASE_PATH', '/kosync').replace(/\/+/g, '/').replace(/\/$/, '')}/healthcheck`;
const hosts = host === '0.0.0.0' ? ['127.0.0.1'] : host === '::' ? ['127.0.0.1', '::1'] : [host];

function probe(address) {
  return new Promise((resolve) => {
    const ask = request(
      { host: address, port, path, timeout: PROBE_TIMEOUT_MS, headers: { 'user-agent': 'calibre-web-kosync-healthcheck' } },
      (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      },
    );
    ask.on('timeout', () => ask.destroy());
    ask.on('error', () => resolve(false));
    ask.end();
  });
}

let healthy = false;
for (const address of hosts) {
  healthy = await probe(address);
  if (healthy) break;
}
process.exitCode = healthy ? 0 : 1;
