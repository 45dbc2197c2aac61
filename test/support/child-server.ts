import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface ChildServer {
  process: ChildProcess;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Everything the process wrote so far (stdout then stderr, as lines arrived). */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `node <cli> serve` on a free loopback port and resolves once it listens; `wrapper` runs node
 * under another command (e.g. `prlimit --nofile=128`), `nodeArgs` go to node before the script.
 */
export async function startChildServer(
  cli: string,
  env: Record<string, string>,
  args: string[] = ['serve'],
  wrapper: string[] = [],
  nodeArgs: string[] = [],
): Promise<ChildServer> {
  const [command = process.execPath, ...wrapperArgs] = [...wrapper, process.execPath];
  const child = spawn(command, [...wrapperArgs, ...nodeArgs, cli, ...args], {
    env: { PATH: process.env.PATH ?? '', KOSYNC_HOST: '127.0.0.1', KOSYNC_PORT: '0', KOSYNC_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`)));
  });
  const origin = await listening;
  return { process: child, origin, output: () => output, exited };
}

/** `node <cli> …` to completion. */
export async function runCli(
  cli: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
