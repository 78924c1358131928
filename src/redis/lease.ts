import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from './client.js';
import { defineScripts, type ScriptSpec } from './scripts.js';

/**
 * A lease in Redis: one holder at a time, identified by a random token, lost when not renewed within its time.
 * The relay holds one per app (one active publisher); the watchlist sync holds one while it writes.
 */
export interface Lease {
  /** The holder's token (scripts that must only act for the holder compare it). */
  readonly token: string;
  /** Takes the lease when free, or extends it when already held; resolves whether it is held now. */
  hold(): Promise<boolean>;
  /** Gives the lease up if still held. */
  release(): Promise<void>;
}

const SCRIPTS = {
  presenceHoldLease: { source: 'redis/hold-lease', numberOfKeys: 1 },
  presenceReleaseLease: { source: 'redis/release-lease', numberOfKeys: 1 },
} satisfies Record<string, ScriptSpec>;

export function createLease(redis: RedisClient, key: string, leaseMs: number): Lease {
  const scripts = defineScripts(redis, SCRIPTS);
  // Readable by an operator (`status` shows the relay's holder), unique per lease object.
  const token = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  return {
    token,
    hold: async () => (await scripts.presenceHoldLease(key, token, leaseMs)) === 1,
    release: async () => {
      await scripts.presenceReleaseLease(key, token);
    },
  };
}
