// Preloaded into a CLI run by test/heap-settings.test.ts (`node --import`): when the process exits,
// makes ~15 MB of objects survive scavenges, which is what lets V8 grow its young generation, then
// prints the young generation's size (bytes) on stderr as `young generation <n>`.
import { getHeapSpaceStatistics } from 'node:v8';

process.on('exit', () => {
  const kept = [];
  for (let i = 0; i < 300_000; i++) kept.push({ i, text: String(i) });
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  process.stderr.write(`young generation ${young.space_size} after keeping ${kept.length} objects\n`);
});
