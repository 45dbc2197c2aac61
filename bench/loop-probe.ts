/**
 * Preloaded by the open-loop bench into the server it measures (`node --import <this file>`), never
 * part of the server: samples the event loop's delay (`perf_hooks.monitorEventLoopDelay`, 1 ms
 * resolution) and V8's collections (a `gc` PerformanceObserver), and answers the bench over the IPC
 * channel the bench opened (`{ probe: 'reset' }` starts a window, `{ probe: 'read' }` returns it).
 * The channel is unref'd: it never keeps the server running.
 */
import { readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { GcKind, ProbeWindow } from './probe-window.js';

const RESOLUTION_MS = 1;

const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();

type GcTotals = Record<GcKind, { count: number; ms: number; maxMs: number }>;
const emptyGc = (): GcTotals => ({
  minor: { count: 0, ms: 0, maxMs: 0 },
  major: { count: 0, ms: 0, maxMs: 0 },
  other: { count: 0, ms: 0, maxMs: 0 },
});
let gc = emptyGc();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    const totals =
      kind === constants.NODE_PERFORMANCE_GC_MINOR ? gc.minor : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? gc.major : gc.other;
    totals.count++;
    totals.ms += entry.duration;
    totals.maxMs = Math.max(totals.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

/** The main thread's time waiting for a core while runnable (ms; Linux schedstat, 0 where there is none). */
function runQueueWaitMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** Page faults that had to read from disk (node's own executable and libraries included). */
const majorFaults = () => process.resourceUsage().majorPageFault;

let since = {
  at: performance.now(),
  cpu: process.cpuUsage(),
  waited: runQueueWaitMs(),
  elu: performance.eventLoopUtilization(),
  faults: majorFaults(),
};

function reset(): void {
  delay.reset();
  gc = emptyGc();
  since = {
    at: performance.now(),
    cpu: process.cpuUsage(),
    waited: runQueueWaitMs(),
    elu: performance.eventLoopUtilization(),
    faults: majorFaults(),
  };
}

/** The histogram records each timer turn's full interval (ns); the delay is what exceeds the resolution. */
function overResolution(ns: number): number {
  return Math.max(0, ns / 1e6 - RESOLUTION_MS);
}

function read(): ProbeWindow {
  const cpu = process.cpuUsage(since.cpu);
  const memory = process.memoryUsage();
  return {
    windowMs: performance.now() - since.at,
    loop: {
      samples: delay.count,
      p50: overResolution(delay.percentile(50)),
      p90: overResolution(delay.percentile(90)),
      p99: overResolution(delay.percentile(99)),
      p999: overResolution(delay.percentile(99.9)),
      max: overResolution(delay.max),
    },
    gc,
    cpuMs: (cpu.user + cpu.system) / 1000,
    runQueueWaitMs: runQueueWaitMs() - since.waited,
    majorFaults: majorFaults() - since.faults,
    elu: performance.eventLoopUtilization(since.elu).utilization,
    memory: {
      rss: memory.rss / 2 ** 20,
      heapCommitted: memory.heapTotal / 2 ** 20,
      heapUsed: memory.heapUsed / 2 ** 20,
      external: memory.external / 2 ** 20,
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size / 2 ** 20])),
    },
  };
}

process.on('message', (message: { probe?: string }) => {
  if (message?.probe === 'reset') {
    reset();
    process.send?.({ probe: 'reset' });
  } else if (message?.probe === 'read') {
    process.send?.({ probe: 'window', window: read() });
  }
});
process.channel?.unref();
