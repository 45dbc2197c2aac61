import { systemClock, type Clock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { StartupError } from '../db/startup-error.js';
import { optionsHelp, type ParsedArgs, parseArgs, UsageError } from './args.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';

const PROGRAM = 'calibre-web-kosync';

interface Io {
  argv: readonly string[];
  /** The system clock unless a test pins it. */
  clock?: Clock;
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length)) + 2;
  return [
    `Usage: ${PROGRAM} [command] [options]`,
    '',
    'KOReader progress sync (kosync) for Calibre-Web.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}${c.summary}`),
    '',
    'Options (each also read from the environment variable named):',
    optionsHelp(),
    `  ${'--help'.padEnd(36)} show help (also after a command)`,
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [
    `Usage: ${PROGRAM} ${command.usage}`,
    '',
    command.summary,
    ...(command.help ? ['', command.help] : []),
    ...(command.switches?.length ? ['', `Switches: ${command.switches.join(' ')}`] : []),
    '',
    'Options:',
    optionsHelp(),
    '',
  ].join('\n');
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(io: Io): Promise<number> {
  const switches = COMMANDS.flatMap((c) => c.switches ?? []);
  const options = COMMANDS.flatMap((c) => c.options ?? []);
  let args: ParsedArgs;
  try {
    args = parseArgs(io.argv, io.env, switches, options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${PROGRAM}: ${error.message}\n\n${overview()}`);
    return 2;
  }
  const command = COMMANDS.find((c) => c.name === (args.command ?? 'serve'));
  if (!command) {
    io.stderr.write(`${PROGRAM}: unknown command "${args.command}"\n\n${overview()}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(args.command === undefined ? overview() : commandHelp(command));
    return 0;
  }
  const unknownSwitch = [...args.switches, ...args.options.keys()].find(
    (s) => !command.switches?.includes(s) && !command.options?.includes(s),
  );
  if (unknownSwitch) {
    io.stderr.write(`${PROGRAM} ${command.name}: unknown option ${unknownSwitch}\n`);
    return 2;
  }
  try {
    const config = loadConfig(args.env);
    return await command.run({
      config,
      clock: io.clock ?? systemClock,
      positionals: args.positionals,
      switches: args.switches,
      options: args.options,
      stdout: io.stdout,
      stderr: io.stderr,
    });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      io.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
