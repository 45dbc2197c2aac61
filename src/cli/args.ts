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
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `[command] [words…] [--flag value | --flag=value]…`; unknown flags are an error. */
export function parseArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  knownSwitches: readonly string[] = [],
): ParsedArgs {
  const variables = new Map(ENV_VARIABLES.map((v) => [flagFor(v), v]));
  const result: ParsedArgs = { command: undefined, env: { ...env }, positionals: [], switches: new Set(), help: false };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--help' || word === '-h') {
      result.help = true;
    } else if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const flag = eq < 0 ? word : word.slice(0, eq);
      if (knownSwitches.includes(flag) && eq < 0) {
        result.switches.add(flag);
        continue;
      }
      const variable = variables.get(flag);
      if (!variable) throw new UsageError(`unknown option ${flag}`);
      const value = eq < 0 ? argv[++i] : word.slice(eq + 1);
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      result.env[variable] = value;
    } else if (result.command === undefined && result.positionals.length === 0) {
      result.command = word;
    } else {
      result.positionals.push(word);
    }
  }
  return result;
}

export function optionsHelp(): string {
  return ENV_VARIABLES.map((v) => `  ${flagFor(v).padEnd(36)} (env ${v})`).join('\n');
}
