import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../ops/logger.js';
import type { RedisClient } from '../redis/client.js';
import type { AppKeys } from '../redis/keys.js';
import { defineScripts, type ScriptSpec } from '../redis/scripts.js';
import type { OutboxRelay, RelayShare } from './outbox-relay.js';

/**
 * The relay of one app in one process when the outbox has shards (`redis.outboxShards`): a relay per shard, each
 * competing for its shard's lease, like the tasks of a connector spread over workers. The relay processes of the
 * app announce themselves every third of the lease time (relay/lua/announce-relay.lua); each holds at most
 * ceil(shards / processes alive) leases and gives up the ones beyond between two batches, so a newly started process
 * gets work, and a dead process's leases expire and are taken by the others. Every shard is published by one holder
 * at a time, in order, so every user's events (all in the user's shard) stay in order.
 */
export interface RelayGroup extends OutboxRelay {
  /** The shards whose lease this process holds now, in increasing order. */
  readonly heldShards: number[];
  /** The most shard leases this process may hold now (0 before its first announcement). */
  readonly fairShare: number;
}

export interface RelayGroupOptions {
  app: string;
  /** The shard leases' time: an announcement counts this long, and is renewed every third of it. */
  leaseMs: number;
}

const SCRIPTS = {
  presenceAnnounceRelay: { source: 'relay/announce-relay', numberOfKeys: 1 },
} satisfies Record<string, ScriptSpec>;

export function createRelayGroup(
  deps: { redis: RedisClient; keys: AppKeys; logger: Logger },
  options: RelayGroupOptions,
  relayOf: (shard: number, share: RelayShare) => OutboxRelay,
): RelayGroup {
  const { redis, keys, logger } = deps;
  const { app, leaseMs } = options;
  const scripts = defineScripts(redis, SCRIPTS);
  const token = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let fairShare = 0;
  let pendingClaims = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  let running: Promise<void> | undefined;

  const heldShards = (): number[] => relays.flatMap((relay, shard) => (relay.isLeader ? [shard] : []));

  const share: RelayShare = {
    claim() {
      if (heldShards().length + pendingClaims >= fairShare) return false;
      pendingClaims += 1;
      return true;
    },
    settle() {
      pendingClaims -= 1;
    },
    mustYield(shard) {
      const held = heldShards();
      const excess = held.length - fairShare;
      // The highest shards go first: every process agrees on which it keeps, so no two hand the same one over.
      return excess > 0 && held.slice(-excess).includes(shard);
    },
  };
  const relays = Array.from({ length: keys.outboxShards }, (_, shard) => relayOf(shard, share));

  async function announce(alive: boolean): Promise<void> {
    const processes = Number(
      await scripts.presenceAnnounceRelay(keys.relayMembers, token, leaseMs, alive ? '1' : '0'),
    );
    const next = Math.ceil(keys.outboxShards / Math.max(1, processes));
    if (alive && next !== fairShare) {
      logger.info(
        { app, relayProcesses: processes, shards: keys.outboxShards, fairShare: next },
        'relay processes changed; holding at most the fair share of the outbox shards',
      );
      fairShare = next;
    }
  }

  async function run(): Promise<void> {
    const tick = () =>
      announce(true).catch((error: unknown) =>
        // The share stays as it was: the shard relays keep their leases while they can renew them.
        logger.warn({ app, err: error }, 'relay announcement failed'),
      );
    await tick();
    if (stopped) return;
    timer = setInterval(() => void tick(), Math.floor(leaseMs / 3));
    await Promise.all(relays.map((relay) => relay.run()));
  }

  return {
    run() {
      running ??= run();
      return running;
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await Promise.all(relays.map((relay) => relay.stop()));
        await announce(false).catch(() => undefined);
      })();
      return stopped;
    },
    get isLeader() {
      return relays.some((relay) => relay.isLeader);
    },
    get heldShards() {
      return heldShards();
    },
    get fairShare() {
      return fairShare;
    },
  };
}
