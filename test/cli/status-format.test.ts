import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/status.js';
import type { AppStatus } from '../../src/roles/status.js';

function report(outbox: AppStatus['outbox']) {
  const app: AppStatus = {
    name: 'main',
    sdkAppId: 1400000000,
    credentials: { state: 'unknown', lastOkAt: null, lastFailure: null },
    relay: { holder: null, leaseExpiresInMs: null },
    outbox,
    dataSince: null,
    watchlists: [],
  };
  return { generatedAt: '2026-12-06T05:00:00.000Z', version: '0.1.0', apps: [app] };
}

describe('status text', () => {
  it('says how many of the outbox entries are snapshots waiting in the low-priority streams', () => {
    expect(formatStatus(report({ entries: 12, lowPriorityEntries: 10, oldestAgeSeconds: 3 }))).toContain(
      '  outbox       12 entries (10 low-priority snapshots), oldest 3.0 s\n',
    );
    expect(formatStatus(report({ entries: 2, lowPriorityEntries: 0, oldestAgeSeconds: 0.5 }))).toContain(
      '  outbox       2 entries, oldest 0.5 s\n',
    );
  });
});
