import { describe, expect, it } from 'vitest';
import { CliError, displayUrl, exitCodeOf } from '../../src/cli/errors.js';
import { collectList, parseRatePerSecond, parseRoles } from '../../src/cli/options.js';
import { formatQueryTable } from '../../src/cli/query.js';
import { formatEventLine } from '../../src/cli/tail.js';
import { ConfigError } from '../../src/config/index.js';
import { MissingTopicsError } from '../../src/relay/kafka.js';
import { TencentError } from '../../src/tencent/index.js';

describe('exitCodeOf', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  const kafkaDown = Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' });
  it.each([
    ['a CliError keeps its code', new CliError('gone', 5), 5],
    ['an invalid config is 3', new ConfigError([]), 3],
    ['a missing topic with topic creation off is 3', new MissingTopicsError(['presence.state']), 3],
    ['an unreachable Tencent endpoint is 4', new TencentError('down', { kind: 'network' }), 4],
    ['a Tencent timeout is 4', new TencentError('slow', { kind: 'timeout' }), 4],
    ['a wrong secret key is 3', new TencentError('bad key', { kind: 'fatal_config' }), 3],
    ['a refused socket is 4', refused, 4],
    ['Kafka unreachable is 4', kafkaDown, 4],
    ['a wrapped refused socket is 4', new Error('start failed', { cause: refused }), 4],
    ['anything else is 1', new Error('boom'), 1],
  ])('%s', (_name, error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });
});

describe('option parsers', () => {
  it('parses roles, dropping repeats', () => {
    expect(parseRoles('poller, relay,poller')).toEqual(['poller', 'relay']);
    expect(() => parseRoles('')).toThrow(/choose from scheduler, poller, relay/);
  });
  it('reads a churn rate with or without /s', () => {
    expect(parseRatePerSecond('25/s')).toBe(25);
    expect(parseRatePerSecond('2.5')).toBe(2.5);
  });
  it('collects repeated and comma-separated values', () => {
    expect(collectList('c', collectList('a,b'))).toEqual(['a', 'b', 'c']);
  });
  it('hides a Redis password when printing a URL', () => {
    expect(displayUrl('redis://user:hunter22@redis:6379')).toBe('redis://user:***@redis:6379');
  });
});

describe('output formats', () => {
  it('prints a query table with "not found" for 70107 and devices when asked', () => {
    const table = formatQueryTable([
      { userId: 'alice', state: 'Online', devices: [{ platform: 'iPhone', status: 'Online' }] },
      { userId: 'ghost', state: null, notFound: true, errorCode: 70107 },
      { userId: 'odd', state: null, errorCode: 70169 },
    ]);
    expect(table.split('\n')).toEqual([
      'USER   STATE        DEVICES',
      'alice  Online       iPhone:Online',
      'ghost  not found',
      'odd    error 70169',
      '',
    ]);
  });

  it('prints one tail line per event: time, user, from -> to, kind, watchlists', () => {
    const line = formatEventLine({
      schema: 'presence.transition/1',
      eventId: '1:alice:e:2',
      sdkAppId: 1,
      userId: 'alice',
      kind: 'transition',
      from: 'Offline',
      to: 'Online',
      seq: 2,
      epoch: 'e',
      observedAt: '2026-11-25T10:00:05.120Z',
      previousObservedAt: '2026-11-25T10:00:00.000Z',
      watchlists: ['vip', 'all'],
    });
    expect(line).toBe('2026-11-25T10:00:05.120Z  alice  Offline → Online  transition  [vip,all]  seq 2');
  });
});
