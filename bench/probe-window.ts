/** What bench/loop-probe.ts reports of one window of a server's life (times in ms). */
export type GcKind = 'minor' | 'major' | 'other';

export interface ProbeWindow {
  windowMs: number;
  /** Event-loop delay beyond the probe's 1 ms timer (monitorEventLoopDelay's histogram). */
  loop: { samples: number; p50: number; p90: number; p99: number; p999: number; max: number };
  /** Share of the window the event loop was busy (performance.eventLoopUtilization). */
  elu: number;
  /** V8 collections: scavenges (minor), mark-compact (major), incremental marking and weak callbacks (other). */
  gc: Record<GcKind, { count: number; ms: number; maxMs: number }>;
  /** CPU time of the process (user + system) over the window. */
  cpuMs: number;
  /** Time the main thread was ready to run but waited for a core (the machine's other work, the client). */
  runQueueWaitMs: number;
  /** Page faults of the process over the window that read from disk: a loop stall with them waited for I/O. */
  majorFaults: number;
  /** MiB at the end of the window: process.memoryUsage() and each V8 heap space's committed pages. */
  memory: { rss: number; heapCommitted: number; heapUsed: number; external: number; spaces: Record<string, number> };
}
