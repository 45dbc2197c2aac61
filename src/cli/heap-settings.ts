import { setFlagsFromString } from 'node:v8';

/**
 * V8 heap settings of a small server that keeps ~20 MiB live and whose requests' garbage dies young
 * (BENCHMARKS.md, open loop). Both are flags V8 reads at every collection, so the program can set them
 * itself once started; the sizes node takes from its command line (`--max-semi-space-size`,
 * `--max-old-space-size`) are read only when the heap is set up. Each applies unless whoever starts
 * node sets that generation's size themselves, on the command line or in NODE_OPTIONS.
 */
const SETTINGS = [
  {
    /**
     * The young generation stays at its initial 1 MiB semi-spaces. Node grows them to 16 MiB each
     * (32 MiB resident) once enough objects survive a scavenge, as they do while the program loads;
     * smaller semi-spaces mean more scavenges, each a fraction of a millisecond instead of several.
     */
    flag: '--semi-space-growth-factor=1',
    ownedBy: ['--max-semi-space-size', '--min-semi-space-size', '--semi-space-growth-factor'],
  },
  {
    /**
     * The old generation is collected once it has grown by 20 % (or V8's minimum step) instead of by
     * the factor of up to 4 that node's default heap limit allows: ~8 MiB less resident after a load.
     */
    flag: '--heap-growing-percent=20',
    ownedBy: ['--max-old-space-size', '--max-heap-size', '--heap-growing-percent'],
  },
];

/**
 * Node flags the program is launched with, on the lines that start it: `src/cli.ts`'s shebang (the
 * installed CLI), `npm start` and the image's entrypoint (test/launch-flags.test.ts keeps the three
 * equal to this list). Node reads them only before it starts, so `applyHeapSettings` cannot set them.
 * `--v8-pool-size=1`: one V8 background thread instead of four, for concurrent marking and compiling;
 * each thread's malloc arena and stack kept ~2 MiB resident (5–9 MiB in all after a load, issue 17
 * in BENCHMARKS.md), and on two cores the other three only competed with the event loop.
 */
export const LAUNCH_FLAGS = ['--v8-pool-size=1'] as const;

/** The program's heap flags not overridden by node's command line (`execArgv`) or NODE_OPTIONS. */
export function heapFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((arg) => arg.split('=', 1)[0]!.replaceAll('_', '-')));
  return SETTINGS.filter((setting) => !setting.ownedBy.some((flag) => given.has(flag))).map((setting) => setting.flag);
}

/** Applies `heapFlags` to this process's V8; must run before the rest of the program is loaded. */
export function applyHeapSettings(execArgv: readonly string[], nodeOptions: string | undefined): void {
  for (const flag of heapFlags(execArgv, nodeOptions)) setFlagsFromString(flag);
}
