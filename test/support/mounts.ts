import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

function why(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
  return stderr || (error as Error).message;
}

/** Only root may mount or make a file immutable: as another user, the tests that need it are skipped. */
export const NOT_ROOT = process.getuid?.() === 0 ? undefined : 'not running as root, whom mounts and chattr +i need';

/**
 * Why this process, as root, cannot mount file systems (no `mount`, or no CAP_SYS_ADMIN in a
 * container), or undefined when it can: tried once with a tiny tmpfs.
 */
export function cannotMount(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-mount-probe-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    run('umount', [dir]);
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${why(error)} (util-linux's mount, and CAP_SYS_ADMIN in a container)`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why `chattr +i` does not work, as root, in the temp folder's file system (tmpfs, overlayfs…), or undefined. */
export function cannotMakeImmutable(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-chattr-probe-'));
  const file = join(dir, 'probe');
  try {
    closeSync(openSync(file, 'w'));
    run('chattr', ['+i', file]);
    run('chattr', ['-i', file]);
    return undefined;
  } catch (error) {
    return `chattr +i failed in ${tmpdir()}: ${why(error)} (e2fsprogs' chattr, on ext4 or another file system that has the flag)`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function mountTmpfs(dir: string, size: string): void {
  run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

/** Lays a read-only view of `path` (a folder or a file) over itself; `unmount` takes it away again. */
export function bindReadOnly(path: string): void {
  run('mount', ['--bind', '-o', 'ro', path, path]);
}

export function unmount(path: string): void {
  run('umount', [path]);
}

export function setImmutable(file: string, on: boolean): void {
  run('chattr', [on ? '+i' : '-i', file]);
}

/** Writes zeros to `file` until the file system has not a byte left. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [64 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}
