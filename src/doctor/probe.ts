import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How long a probe waits for an answer. */
const PROBE_TIMEOUT_MS = 1500;

/** The status a GET of `url` is answered with, or undefined when nothing answers in time. */
export function probe(url: URL): Promise<number | undefined> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const asked = send(url, { timeout: PROBE_TIMEOUT_MS }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    asked.on('timeout', () => asked.destroy());
    asked.on('error', () => resolve(undefined));
    asked.end();
  });
}
