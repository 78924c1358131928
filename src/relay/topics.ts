import type { LoadedConfig } from '../config/index.js';
import type { TopicSpec } from './kafka.js';

/** The spec of one topic: compacted for the state topic, delete otherwise (a watchlist's own topic). */
export function topicSpecOf(config: Pick<LoadedConfig, 'kafka'>, topic: string): TopicSpec {
  const { partitions, replicationFactor, topics } = config.kafka;
  return {
    topic,
    numPartitions: partitions,
    replicationFactor,
    cleanupPolicy: topic === topics.state ? 'compact' : 'delete',
  };
}

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
