import type { LoadedConfig } from '../config/index.js';
import type { TopicSpec } from './kafka.js';

/** The spec of one topic: compacted for the state and heartbeat topics, delete otherwise (transitions). */
export function topicSpecOf(config: Pick<LoadedConfig, 'kafka'>, topic: string): TopicSpec {
  const { partitions, replicationFactor, topics } = config.kafka;
  return {
    topic,
    numPartitions: partitions,
    replicationFactor,
    cleanupPolicy: topic === topics.state || topic === topics.heartbeat ? 'compact' : 'delete',
  };
}

/**
 * Topics the relay needs: the default transitions topic, the compacted state topic, every watchlist's own, and the
 * compacted heartbeat topic when heartbeats are on.
 */
export function topicSpecs(config: Pick<LoadedConfig, 'kafka' | 'watchlists' | 'heartbeat'>): TopicSpec[] {
  const { topics } = config.kafka;
  const watchlistTopics = config.watchlists.flatMap((w) => (w.topic ? [w.topic] : []));
  return [
    topics.transitions,
    topics.state,
    ...(config.heartbeat.intervalMs > 0 ? [topics.heartbeat] : []),
    ...[...new Set(watchlistTopics)].filter((t) => t !== topics.transitions),
  ].map((topic) => topicSpecOf(config, topic));
}
