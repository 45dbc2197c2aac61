import type { Clock } from '../clock.js';
import type { Config } from '../config.js';

export interface CommandContext {
  config: Config;
  clock: Clock;
  positionals: string[];
  switches: Set<string>;
  /** Its options' values, e.g. `--user` → `dave`. */
  options: Map<string, string>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** One `calibre-web-kosync <name>` subcommand; returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Usage line after the program name, e.g. `keys revoke <user>`. */
  usage: string;
  /** Extra detail for `<name> --help`. */
  help?: string;
  /** Boolean flags the command takes, e.g. `--json`. */
  switches?: string[];
  /** Options the command takes with a value, e.g. `--user`. */
  options?: string[];
  run(context: CommandContext): Promise<number>;
}
