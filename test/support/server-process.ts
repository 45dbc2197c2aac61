import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { portOpen } from './ports.js';

interface ServerProcessOptions {
  /** What the process is, for the error when it does not start. */
  name: string;
  /** The loopback port it listens on once started. */
  port: number;
  /** Its graceful stop. */
  signal: NodeJS.Signals;
  /** Its scratch folder, removed once it stopped. */
  dir: string;
  /** More to say when it does not start (e.g. its error log), read before the folder goes. */
  failureDetails?: () => string;
}

/**
 * Waits (up to 10 s) until `child`, a server such as nginx or Caddy, accepts connections; answers its
 * stop. When it exits or does not listen in time it is stopped and its stderr reported.
 */
export async function untilListening(child: ChildProcess, options: ServerProcessOptions): Promise<() => Promise<void>> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(options.signal);
      await exited;
    }
    rmSync(options.dir, { recursive: true, force: true });
  };
  for (let i = 0; !(await portOpen(options.port)); i++) {
    if (child.exitCode !== null || i > 200) {
      const details = options.failureDetails?.() ?? '';
      await stop();
      throw new Error(`${options.name} did not start: ${stderr}${details}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return stop;
}
