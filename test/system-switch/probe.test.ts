import { describe, expect, it } from 'vitest';
import { missingFile, skipWithout } from '../support/system.js';

// Run only by test/system-switch.test.ts, with its own config: a test that needs a tool no machine has.
describe.skipIf(skipWithout(missingFile('/nonexistent/kosync-probe-tool', 'apt-get install nothing'), 'the probe tests'))(
  'a test that needs /nonexistent/kosync-probe-tool',
  () => {
    it('never runs', () => {
      expect.unreachable();
    });
  },
);
