import { Account, documentJson, type DocumentView } from '../../account/documents.js';
import { openDatabases } from '../../databases.js';
import { libraryOf } from '../../library.js';
import { findUserByName } from '../../repos/users.js';
import { ProgressService } from '../../sync/progress-service.js';
import type { Command, CommandContext } from '../command.js';
import { table } from '../table.js';

/** How long the listing waits for a lock Calibre-Web holds on app.db. */
const LOCK_WAIT_MS = 10_000;

/** `documents --user NAME`: what the account API's `GET BASE/api/v1/documents` answers for that user (docs/PROTOCOL.md §9.5). */
export const documentsCommand: Command = {
  name: 'documents',
  summary: 'list the documents one user synced: the book each matched (or why not) and the position',
  usage: 'documents --user <name> [--json]',
  help: [
    'Lists, newest first, every document the user synced, as the account page and BASE/api/v1/documents show',
    'them: the matched book (title, authors, format, how it matched) or why it matches none, and the',
    'current position (percentage, device, when). --json prints the API’s JSON.',
  ].join('\n'),
  switches: ['--json'],
  options: ['--user'],
  run: async (context) => {
    const name = context.options.get('--user');
    if (name === undefined || name.trim() === '' || context.positionals.length > 0) {
      context.stderr.write(`Usage: calibre-web-kosync ${documentsCommand.usage}\n`);
      return 2;
    }
    return list(context, name.trim());
  },
};

async function list(context: CommandContext, name: string): Promise<number> {
  const { config, clock, stdout, stderr } = context;
  const databases = openDatabases(config, { warn: (m) => stderr.write(`${m}\n`) });
  const library = libraryOf(config, databases, clock);
  try {
    const user = findUserByName(databases.appDb.read, name);
    if (!user) {
      stderr.write(`No Calibre-Web user "${name}".\n`);
      return 1;
    }
    const { appDb, stateDb } = databases;
    const progress = new ProgressService({
      appDb,
      matcher: library?.matcher,
      clock,
      shareProgressAcrossFiles: config.shareProgressAcrossFiles,
      stateDb,
      historyLimit: config.historyLimit,
      keepFurthest: config.keepFurthest,
    });
    const account = new Account({ appDb, stateDb, library, progress, clock });
    const log = { warn: (_obj: object, message: string) => stderr.write(`${message}\n`) };
    const documents = await account.documents(user, log, clock.monotonicMs() + LOCK_WAIT_MS);
    if (context.switches.has('--json')) stdout.write(`${JSON.stringify({ documents: documents.map(documentJson) })}\n`);
    else if (documents.length === 0) stdout.write(`${user.name} has synced no document.\n`);
    else stdout.write(table([['DOCUMENT', 'BOOK', 'FORMAT', 'MATCH', 'POSITION', 'DEVICE', 'WHEN'], ...documents.map(row)]));
    return 0;
  } finally {
    await library?.scanner.stop();
    databases.close();
  }
}

function row(d: DocumentView): string[] {
  const when = d.timestamp === null ? '-' : `${new Date(d.timestamp * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return [
    d.document,
    d.book ? `${d.book.title} (${d.book.authors.join(', ')})` : `not matched: ${d.reason ?? 'no library'}`,
    d.book?.format ?? '-',
    d.match ?? '-',
    `${Math.round(d.percentage * 1000) / 10} %`,
    d.device_id ? `${d.device} (${d.device_id})` : d.device,
    when,
  ];
}
