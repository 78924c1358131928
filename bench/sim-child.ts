/**
 * The simulator in its own process (compiled and forked by the orchestrator), so its CPU is measured alone and its
 * event loop does not compete with the orchestrator's Kafka consumer.
 *   argv[2]: JSON SimulatorOptions. Replies: ready {url, populationMs}; stats; reset.
 */
import { startSimulator, type SimulatorOptions } from '../src/simulator/index.js';
import { serveParent } from './ipc.js';
import { startLoopMonitor } from './loop-monitor.js';

const options = JSON.parse(process.argv[2] ?? '{}') as SimulatorOptions;
const startedAt = performance.now();
const simulator = await startSimulator(options);
const populationMs = performance.now() - startedAt;
const loop = startLoopMonitor();

serveParent(
  async (request) => {
    if (request.type === 'stats') return { stats: simulator.stats(), loop: loop.report() };
    if (request.type === 'reset') {
      simulator.resetStats();
      loop.reset();
      return {};
    }
    throw new Error(`unknown request ${request.type}`);
  },
  () => simulator.close(),
);
process.send?.({
  type: 'ready',
  url: simulator.url,
  populationMs,
  heapUsedBytes: process.memoryUsage().heapUsed,
});
