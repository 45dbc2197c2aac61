import { diagnose } from '../../doctor/diagnose.js';
import { blocking, formatReport } from '../../doctor/findings.js';
import type { Command } from '../command.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the setup (app.db, library, LDAP, URL) and say what would block syncing',
  usage: 'doctor [options]',
  help: [
    'Reads the same settings as `serve` and reports, in plain words: app.db (found, readable, writable,',
    "its kosync_progress form and journal mode), the state database, metadata.db (opened read-only), CWA's",
    'checksum table, a sample of library files, the LDAP key file and a bind test when Calibre-Web uses',
    'LDAP, and the server URL. It writes nothing. Exit code 0 when nothing blocks syncing, 1 otherwise.',
  ].join('\n'),
  run: async ({ config, stdout }) => {
    const findings = await diagnose(config);
    stdout.write(`calibre-web-kosync doctor\n\n${formatReport(findings)}`);
    return blocking(findings).length === 0 ? 0 : 1;
  },
};
