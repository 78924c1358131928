import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { createOutageLog } from '../../src/ops/outage-log.js';
import { captureLogLines } from './log-lines.js';

function setup(summaryIntervalMs = 60_000) {
  const capture = captureLogLines();
  const clock = { ms: 1_000_000 };
  const outage = createOutageLog({
    logger: createLogger({ destination: capture.stream }),
    dependency: 'redis',
    summaryIntervalMs,
    now: () => clock.ms,
  });
  return { outage, clock, lines: () => capture.lines() };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });

describe('outage log', () => {
  it('logs a start line, one summary per interval with counts, and an end line, for a retry every 2 s', () => {
    // The retry before the first failure counts toward the outage; the summary is due at the retry at 60 s.
    const { outage, clock, lines } = setup();
    for (let second = 0; second < 150; second += 2) {
      clock.ms += 2_000;
      outage.retry('commands');
      outage.failure(refused(), 'commands');
    }
    clock.ms += 1_000;
    outage.success('commands');

    const outageLines = lines();
    expect(outageLines.map((line) => line.outage)).toEqual(['started', 'ongoing', 'ongoing', 'ended']);
    const [started, firstSummary, , ended] = outageLines;
    expect(started).toMatchObject({
      level: 40,
      dependency: 'redis',
      source: 'commands',
      msg: expect.stringContaining('ECONNREFUSED'),
    });
    expect(started!.err).toMatchObject({
      message: 'connect ECONNREFUSED 127.0.0.1:6390',
      code: 'ECONNREFUSED',
    });
    expect((started!.err as { stack: string }).stack).toMatch(/^Error: connect ECONNREFUSED/);
    expect(firstSummary).toMatchObject({
      level: 40,
      downForMs: 60_000,
      failures: 30,
      retries: 31,
      failing: ['commands'],
      lastError: 'connect ECONNREFUSED 127.0.0.1:6390',
    });
    expect(ended).toMatchObject({ level: 30, downForMs: 149_000, failures: 75, retries: 75 });
    expect(outage.down).toBe(false);
  });

  it('stays open until every failing connection is back', () => {
    const { outage, lines } = setup();
    outage.failure(refused(), 'commands');
    outage.failure(refused(), 'relay');
    outage.success('commands');
    expect(outage.down).toBe(true);
    outage.success('relay');
    expect(outage.down).toBe(false);
    expect(lines().map((line) => line.outage)).toEqual(['started', 'ended']);
  });

  it('counts failures without a source and ends at the next success', () => {
    const { outage, lines } = setup();
    outage.failure('pacer Redis: connect ECONNREFUSED');
    outage.failure(refused());
    outage.success();
    expect(lines().map((line) => [line.outage, line.failures])).toEqual([
      ['started', undefined],
      ['ended', 2],
    ]);
  });

  it('counts an error relayed by several emitters once', () => {
    const { outage, lines } = setup();
    const error = refused();
    outage.failure(error, 'commands');
    outage.failure(error);
    outage.failure(error);
    outage.failure(refused(), 'commands');
    outage.success('commands');
    expect(lines().map((line) => [line.outage, line.failures])).toEqual([
      ['started', undefined],
      ['ended', 2],
    ]);
  });

  it('writes nothing for a reconnect that succeeds before any failure', () => {
    const { outage, lines } = setup();
    outage.retry('commands');
    outage.success('commands');
    expect(lines()).toEqual([]);
  });

  it('closes the outage as closed when its last failing connection is shut down', () => {
    const { outage, lines } = setup();
    outage.closed('commands');
    outage.failure(refused(), 'commands');
    outage.closed('commands');
    expect(lines().map((line) => [line.outage, line.level])).toEqual([
      ['started', 40],
      ['closed', 40],
    ]);
    expect(outage.down).toBe(false);
  });

  it('names the causes of an AggregateError with an empty message', () => {
    const { outage, clock, lines } = setup(1_000);
    outage.failure(refused());
    clock.ms += 1_000;
    outage.failure(new AggregateError([refused(), new Error('connect ECONNREFUSED ::1:6390')], ''));
    expect(lines()[1]!.lastError).toBe('connect ECONNREFUSED 127.0.0.1:6390; connect ECONNREFUSED ::1:6390');
  });
});
