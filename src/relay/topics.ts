import type { LoadedConfig } from '../config/index.js';
import type { TopicSpec } from './kafka.js';

/** Topics the relay needs: the default transitions topic, the compacted state topic, every watchlist's own. */
export function topicSpecs(config: Pick<LoadedConfig, 'kafka' | 'watchlists'>): TopicSpec[] {
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
    ...[...new Set(watchlistTopics)].filter((t) => t !== topics.transitions).map((t) => spec(t)),
  ];
}
