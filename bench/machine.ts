import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';

/** Where the numbers come from: they mean little without it. */
export function describeMachine(): string[] {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return [
    `date: ${new Date().toISOString()}`,
    `cpus: ${availableParallelism()} × ${cpu}`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `node: ${process.version}, linux ${release()}`,
    `temp files: ${tmpdir()} on ${filesystemOf(tmpdir())}`,
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `pressure at start: ${pressure()}`,
  ];
}

/**
 * Linux pressure stall information: the share of the last 10 s in which some runnable task waited for
 * a core, or some task waited for I/O. Near 0 on a quiet machine; tail latencies mean little without it.
 */
export function pressure(): string {
  const some = (resource: string) => {
    try {
      return `${/^some avg10=([\d.]+)/m.exec(readFileSync(`/proc/pressure/${resource}`, 'utf8'))?.[1] ?? '?'} %`;
    } catch {
      return 'n/a';
    }
  };
  return `cpu ${some('cpu')}, io ${some('io')} (PSI "some", last 10 s)`;
}

/** The device and type of the mount holding `path` (fsync cost depends on it). */
function filesystemOf(path: string): string {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length > 2 && (path === f[1] || path.startsWith(f[1] === '/' ? '/' : `${f[1]}/`)))
    .sort((a, b) => b[1]!.length - a[1]!.length);
  const [device, mount, type] = mounts[0] ?? ['?', '?', '?'];
  return `${device} (${type}, mounted at ${mount})`;
}
