import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Config } from '../config.js';
import { defaultStatePath } from '../databases.js';
import { canWriteStateDb } from '../db/state-db.js';
import { inspectAppDb, whoAmI } from './app-db-checks.js';
import { fail, note, ok, type Finding } from './findings.js';
import { inspectLdap } from './ldap-check.js';
import { inspectDownloads } from './download-checks.js';
import { inspectLibrary } from './library-checks.js';
import { probe } from './probe.js';

/** Everything `doctor` checks, in the order it reports them. Nothing is written anywhere. */
export async function diagnose(config: Config): Promise<Finding[]> {
  const app = inspectAppDb(config.appDb);
  const findings = [...app.findings];
  if (config.appDb) findings.push(inspectStateDb(config.stateDb ?? defaultStatePath(config.appDb)));
  if (app.settings) {
    findings.push(...inspectLibrary(config.library, app.settings, { readColumn: config.readColumn }));
    findings.push(...(await inspectLdap(config.appDb!, app.settings)));
    findings.push(...(await inspectDownloads(config.calibreWebUrl, app.settings)));
  }
  findings.push(...(await inspectAddress(config)));
  return findings;
}

function inspectStateDb(path: string): Finding {
  if (existsSync(path)) {
    return canWriteStateDb(path)
      ? ok(`state database ${path}: present and writable`)
      : fail(`state database ${path} (and its folder) must be writable by ${whoAmI()}; set KOSYNC_STATE_DB elsewhere or fix the owner`);
  }
  return canWriteStateDb(path)
    ? ok(`state database ${path}: will be created at the first start`)
    : fail(`state database ${path} cannot be created: ${dirname(path)} is not writable by ${whoAmI()} (set KOSYNC_STATE_DB)`);
}

/** The page URL as a reader reaches it, and whether a server answers there now. */
async function inspectAddress(config: Config): Promise<Finding[]> {
  const host = config.host === '0.0.0.0' || config.host === '::' ? hostname() : config.host;
  const base = config.basePath || '/';
  const findings: Finding[] = [
    note(
      `server URL for readers: http://${host}:${config.port}${base} directly, ` +
        `or https://<your Calibre-Web address>${base} through the reverse proxy`,
    ),
  ];
  if (config.trustProxy === false) {
    findings.push(
      note(
        "KOSYNC_TRUST_PROXY is off: behind a reverse proxy, set it to the proxy's address " +
          'so the page shows the public URL and login limits see each reader',
      ),
    );
  }
  const probeHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  const literal = probeHost.includes(':') ? `[${probeHost}]` : probeHost;
  const answered = await probe(new URL(`http://${literal}:${config.port}${config.basePath}/healthcheck`));
  findings.push(
    answered === 200
      ? ok(`a server answers at http://${probeHost}:${config.port}${config.basePath}/healthcheck`)
      : note(`no sync server answers on port ${config.port} right now${answered ? ` (status ${answered})` : ''}`),
  );
  return findings;
}
