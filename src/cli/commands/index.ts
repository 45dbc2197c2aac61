import type { Command } from '../command.js';
import { demoCommand, serveCommand } from './serve.js';
import { keysCommand } from './keys.js';
import { checksumsCommand } from './checksums.js';
import { doctorCommand } from './doctor.js';
import { documentsCommand } from './documents.js';

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [serveCommand, demoCommand, keysCommand, documentsCommand, checksumsCommand, doctorCommand];
