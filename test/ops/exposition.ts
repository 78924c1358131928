/**
 * Reads Prometheus text exposition into a map from series (`name{labels}` exactly as exported, or `name`) to value.
 * Enough for the service's own output: one sample per line, no timestamps.
 */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** The metric name of a series key from `parseExposition`. */
export function metricNameOf(series: string): string {
  const brace = series.indexOf('{');
  return brace === -1 ? series : series.slice(0, brace);
}
