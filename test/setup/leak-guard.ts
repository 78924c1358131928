import { afterAll, beforeAll } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Fails a test file that leaves sockets, servers or child processes open: every client a test opens must be closed
 * in its own afterAll/afterEach. Timers are not counted (libraries keep harmless unref'd ones).
 */
const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TCPWrap', 'ProcessWrap', 'TTYWrap', 'PipeWrap']);
let baseline = new Map<string, number>();

function countWatched(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

function leaks(): string[] {
  const now = countWatched();
  return [...now]
    .filter(([type, n]) => n > (baseline.get(type) ?? 0))
    .map(([type, n]) => `${type} x${n - (baseline.get(type) ?? 0)}`);
}

beforeAll(() => {
  baseline = countWatched();
});

afterAll(async () => {
  // Closing is asynchronous: give handles a moment to go, then name whatever is left.
  await waitFor(() => leaks().length === 0, { timeoutMs: 3_000, description: 'open handles to close' }).catch(
    () => {
      throw new Error(`test file leaked handles: ${leaks().join(', ')}`);
    },
  );
});
