import type { LoadedConfig } from '../config/index.js';
import type { TopicSpec } from './kafka.js';

/**
 * Topics the relay needs: the default transitions topic, the compacted state topic, every watchlist's own, and the
 * compacted heartbeat topic when heartbeats are on.
 */
export function topicSpecs(config: Pick<LoadedConfig, 'kafka' | 'watchlists' | 'heartbeat'>): TopicSpec[] {
  const { partitions, replicationFactor, topics } = config.kafka;
  const spec = (topic: string, cleanupPolicy: TopicSpec['cleanupPolicy'] = 'delete'): TopicSpec => ({
    topic,
    numPartitions: partitions,
    replicationFactor,
    cleanupPolicy,
  });
  const watchlistTopics = config.watchlists.flatMap((w) => (w.topic ? [w.topic] : []));
  return [
    spec(topics.transitions),
    spec(topics.state, 'compact'),
    ...(config.heartbeat.intervalMs > 0 ? [spec(topics.heartbeat, 'compact')] : []),
    ...[...new Set(watchlistTopics)].filter((t) => t !== topics.transitions).map((t) => spec(t)),
  ];
}
