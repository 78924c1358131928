/**
 * Summarizes a V8 .cpuprofile (from `npx tsx bench/run.ts --cpu-prof`, written to .bench/profiles/): self time per
 * function and per package/file, so a hot spot is named without opening DevTools; and the long tasks: stretches of
 * at least 10 ms without an idle sample, which delay every timer behind them (a late pacer slot costs the cap).
 *   npx tsx bench/profile-summary.ts .bench/profiles/<file>.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function where(url: string): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const src = /\/(src\/.*|bench\/.*)$/.exec(url);
  if (src) return src[1] as string;
  return url === '' ? '(native/vm)' : url.startsWith('node:') ? url : url.replace(/^.*\//, '');
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const place = where(url);
  const key = `${functionName || '(anonymous)'}  ${place}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byPlace.set(place, (byPlace.get(place) ?? 0) + us);
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(7)} s  ${key}`,
    );
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
print('self time by package / file', byPlace);
print('self time by function', byFunction);

// Long tasks: consecutive non-idle samples. What fills them is what makes pacer slots late.
const LONG_TASK_US = 10_000;
const longTasks: Array<{ us: number; byPlace: Map<string, number> }> = [];
let run: { us: number; byPlace: Map<string, number> } | undefined;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const us = profile.timeDeltas[i] ?? 0;
  if (!node || node.callFrame.functionName === '(idle)') {
    if (run && run.us >= LONG_TASK_US) longTasks.push(run);
    run = undefined;
    return;
  }
  run ??= { us: 0, byPlace: new Map() };
  run.us += us;
  const place = node.callFrame.functionName.startsWith('(')
    ? node.callFrame.functionName
    : where(node.callFrame.url);
  run.byPlace.set(place, (run.byPlace.get(place) ?? 0) + us);
});
const inLongTasks = new Map<string, number>();
for (const task of longTasks) {
  for (const [place, us] of task.byPlace) inLongTasks.set(place, (inLongTasks.get(place) ?? 0) + us);
}
const sorted = longTasks.map((t) => t.us).sort((a, b) => a - b);
console.log(
  `\nlong tasks (>= ${LONG_TASK_US / 1000} ms without idle): ${longTasks.length}, ` +
    `median ${((sorted[Math.floor(sorted.length / 2)] ?? 0) / 1000).toFixed(1)} ms, ` +
    `longest ${((sorted.at(-1) ?? 0) / 1000).toFixed(1)} ms, ${(sorted.reduce((a, b) => a + b, 0) / 1e6).toFixed(2)} s in all`,
);
print('time inside long tasks by package / file', inLongTasks);
