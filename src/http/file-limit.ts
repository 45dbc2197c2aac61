import { readFileSync } from 'node:fs';
import type { ConnectionLimits } from './connection-limits.js';

/**
 * File descriptors the process uses besides client connections, measured on the running server:
 * 27–29 open (databases with journal, WAL and shm, stdio, libuv's epoll, eventfds and pipes, the
 * listening socket), plus up to 4 library files a scan reads at once, LDAP connections (one per
 * running verification), the metrics port and a margin.
 */
const RESERVED_DESCRIPTORS = 64;

/** The soft `ulimit -n` of this process, from /proc (Linux); undefined where it cannot be read. */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync(limitsFile, 'utf8'));
    return line && line[1] !== 'unlimited' ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A warning when KOSYNC_MAX_CONNECTIONS leaves too few descriptors under `ulimit -n`, else undefined. */
export function fileLimitWarning(limits: ConnectionLimits, openFiles: number | undefined): string | undefined {
  if (openFiles === undefined) return undefined;
  const needed = limits.total + RESERVED_DESCRIPTORS;
  if (limits.total > 0 && needed <= openFiles) return undefined;
  const cap = limits.total === 0 ? 'no cap on connections (KOSYNC_MAX_CONNECTIONS=0)' : `KOSYNC_MAX_CONNECTIONS=${limits.total}`;
  return (
    `${cap} under an open-file limit of ${openFiles} (ulimit -n): connections can use up the descriptors the ` +
    `databases need. Set KOSYNC_MAX_CONNECTIONS to at most ${Math.max(1, openFiles - RESERVED_DESCRIPTORS)} or raise the limit.`
  );
}
