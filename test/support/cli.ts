import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `calibre-web-kosync <argv>` in this process with the given environment, capturing its output. */
export async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString('utf8'));
        done();
      },
    });
  const code = await main({
    argv,
    env,
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
  });
  return { code, stdout, stderr };
}
