import { parseArgs as parseTokens } from 'node:util';
import { ENV_VARIABLES } from '../config.js';

/** `KOSYNC_APP_DB` ↔ `--app-db`: every environment variable is also a flag of the same name. */
export function flagFor(variable: string): string {
  return `--${variable
    .replace(/^KOSYNC_/, '')
    .toLowerCase()
    .replace(/_/g, '-')}`;
}

export interface ParsedArgs {
  command: string | undefined;
  /** Environment with flags applied over it. */
  env: Record<string, string | undefined>;
  /** Words after the command that are not flags (e.g. `keys revoke alice`). */
  positionals: string[];
  /** Boolean switches of a command (e.g. `--json`). */
  switches: Set<string>;
  /** Options of a command that take a value (e.g. `--user dave`). */
  options: Map<string, string>;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses `[command] [words…] [--flag value | --flag=value]…` with node's parseArgs: every variable's
 * flag takes a value (the next word whatever it looks like, as a path may start with `-`), the
 * commands' switches take none, `--help`/`-h` asks for help. Anything else starting with `--` is an
 * error; a word starting with a single `-` is a word.
 */
export function parseArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  knownSwitches: readonly string[] = [],
  knownOptions: readonly string[] = [],
): ParsedArgs {
  const variables = new Map(ENV_VARIABLES.map((v) => [flagFor(v), v]));
  const { tokens } = parseTokens({
    args: [...argv],
    options: Object.fromEntries([...variables.keys(), ...knownOptions].map((flag) => [flag.slice(2), { type: 'string' as const }])),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const result: ParsedArgs = { command: undefined, env: { ...env }, positionals: [], switches: new Set(), options: new Map(), help: false };
  const word = (value: string) => {
    if (result.command === undefined && result.positionals.length === 0) result.command = value;
    else result.positionals.push(value);
  };
  let shortWord = -1; // the index of the last single-dash word, which parseArgs splits into letters
  for (const token of tokens) {
    if (token.kind === 'positional') word(token.value);
    else if (token.kind === 'option-terminator') throw new UsageError('unknown option --');
    else if (!token.rawName.startsWith('--')) {
      if (token.index === shortWord) continue;
      shortWord = token.index;
      if (argv[token.index] === '-h') result.help = true;
      else word(argv[token.index]!);
    } else if (token.rawName === '--help' && !token.inlineValue) result.help = true;
    else if (knownSwitches.includes(token.rawName) && !token.inlineValue) result.switches.add(token.rawName);
    else if (knownOptions.includes(token.rawName)) {
      if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
      result.options.set(token.rawName, token.value);
    } else {
      const variable = variables.get(token.rawName);
      if (!variable) throw new UsageError(`unknown option ${token.rawName}`);
      if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
      result.env[variable] = token.value;
    }
  }
  return result;
}

export function optionsHelp(): string {
  return ENV_VARIABLES.map((v) => `  ${flagFor(v).padEnd(36)} (env ${v})`).join('\n');
}
