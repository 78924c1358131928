/**
 * Micro-benchmark of reading query_online_status answers: the full parser (`parseOnlineStatusResponse`, an object
 * per user) against the compact one (`parseOnlineStatusCodes`, one letter per user), on realistic 500-user answers
 * rendered by the simulator, decoded from bytes as the transport hands them over.
 *
 *   npx tsx bench/parse.ts [--answers 200] [--rounds 20] [--trials 5]
 *
 * Prints CPU µs per answer (median of the trials; CPU rather than wall time, so that other processes on a shared
 * machine weigh less) and heap bytes allocated per answer, for the full parser, the compact parser, the compact
 * parser's fallback (the same answers re-indented, so none takes the one pass) and, as a floor, a loop that only
 * reads every character of the body once; then a sweep call's whole work on its UserIDs (the stored chunk decoded,
 * checked, the request body written, the answer read, the diff script's argument), from the chunk's text and
 * through a string per ID. Writes .bench/parse.json. Runs with the worker's Node flags plus
 * `--expose-gc --min-semi-space-size=16` (it re-runs itself with them): allocation is the heap growth over a batch
 * of parses after a full GC, with a young generation large enough that nothing is collected within the batch.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPopulation } from '../src/simulator/population.js';
import { createRng } from '../src/simulator/prng.js';
import { renderAnswer } from '../src/simulator/render.js';
import { countParsePaths, parseOnlineStatusCodes } from '../src/tencent/parse-codes.js';
import { parseOnlineStatusResponse } from '../src/tencent/parse.js';
import { UserIdList } from '../src/tencent/user-id-list.js';
import { decodeChunk, decodeChunkText, encodeChunk } from '../src/state/watchlist-registry.js';
import { BENCH_DIR } from './build.js';
import { WORKER_NODE_FLAGS } from './worker-flags.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  // A young generation at its usual full size from the start, so that no scavenge runs inside a measured batch.
  const flags = [
    ...WORKER_NODE_FLAGS.split(' '),
    '--expose-gc',
    '--min-semi-space-size=16',
    '--import',
    'tsx',
  ];
  const child = spawnSync(process.execPath, [...flags, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const collectGarbage = gc;

const { values } = parseArgs({
  options: {
    answers: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '20' },
    trials: { type: 'string', default: '5' },
  },
});
const answerCount = Number(values.answers);
const rounds = Number(values.rounds);
const trials = Number(values.trials);
const IDS_PER_ANSWER = 500;

interface Answer {
  body: string;
  ids: string[];
  /** The chunk as Redis stores it (state/watchlist-registry.ts). */
  blob: Buffer;
}

/** Chunks of 500 IDs of a simulated population (1 % not imported), answered by the simulator's renderer. */
function renderAnswers(): Answer[] {
  const population = createPopulation(createRng(18), { size: answerCount * IDS_PER_ANSWER });
  const lookup = (id: string) => population.users.get(id);
  const answers: Answer[] = [];
  for (let start = 0; start < population.allIds.length; start += IDS_PER_ANSWER) {
    const ids = population.allIds.slice(start, start + IDS_PER_ANSWER);
    // Through bytes, as a body arrives: one flat string, not the renderer's concatenation.
    const body = Buffer.from(renderAnswer(ids, lookup, false, 'Status')).toString('utf8');
    answers.push({ body, ids, blob: encodeChunk(ids) });
  }
  return answers;
}

interface Measurement {
  /** Median of the trials. */
  usPerAnswer: number;
  /** Best of the trials: the least disturbed by other processes, the steadiest figure on a shared machine. */
  bestUsPerAnswer: number;
  bytesPerAnswer: number;
}

/** CPU time of `work`, µs. */
function cpuMicros(work: () => void): number {
  const started = process.cpuUsage();
  work();
  const { user, system } = process.cpuUsage(started);
  return user + system;
}

/** Heap growth over `work` right after a full GC (the young generation is large enough to collect nothing). */
function heapGrowth(work: () => unknown): number {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const kept = work();
  const after = process.memoryUsage().heapUsed;
  if (kept === undefined) throw new Error('nothing was parsed');
  return after - before;
}

/** Median CPU µs per answer over `trials` runs, and median heap bytes allocated per answer. */
function measure(answers: readonly Answer[], parse: (answer: Answer) => unknown): Measurement {
  let sink = 0;
  const runAll = () => {
    for (let round = 0; round < rounds; round += 1)
      for (const answer of answers) sink += parse(answer) ? 1 : 0;
  };
  runAll();
  const usPerAnswer: number[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    collectGarbage();
    usPerAnswer.push(cpuMicros(runAll) / (rounds * answers.length));
  }
  usPerAnswer.sort((a, b) => a - b);
  if (sink === 0) throw new Error('nothing was parsed');

  // Batches of 20 answers, results kept: a single parse is below the heap's accounting granularity. memoryUsage()
  // itself allocates, so an empty measurement is subtracted.
  const batch = answers.slice(0, 20);
  const overhead = heapGrowth(() => true);
  const bytesPerAnswer: number[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    const bytes = heapGrowth(() => batch.map(parse)) - overhead;
    bytesPerAnswer.push(bytes / batch.length);
  }
  bytesPerAnswer.sort((a, b) => a - b);
  return {
    usPerAnswer: usPerAnswer[Math.floor(usPerAnswer.length / 2)]!,
    bestUsPerAnswer: usPerAnswer[0]!,
    bytesPerAnswer: Math.round(bytesPerAnswer[Math.floor(bytesPerAnswer.length / 2)]!),
  };
}

/** The least any reader must do: look at every character once. */
function readEveryCharacter({ body }: Answer): number {
  let sum = 1;
  for (let i = 0; i < body.length; i += 1) sum += body.charCodeAt(i);
  return sum;
}

/**
 * A sweep call's work on its UserIDs, as the chunk job does it: the stored chunk decoded, the IDs checked, the
 * request body written, the answer read as codes, the diff script's argument. The IDs stay one text with where each
 * begins (tencent/user-id-list.ts).
 */
function callWorkFromText({ body, blob }: Answer): number {
  const asked = UserIdList.fromText(decodeChunkText(blob));
  if (asked.firstRepeatedIndex() >= 0) throw new Error('a repeated ID');
  const request = `{"To_Account":${asked.toJsonArray()},"IsNeedDetail":0}`;
  return request.length + parseOnlineStatusCodes(body, asked).codes.length + asked.text.length;
}

/**
 * The same through a string per ID: split, a Set to check, JSON.stringify, join. Today's reader takes the array by
 * building a list from it, which the code before the text form did not: this row shows what strings would cost now,
 * not the old code's figure (BENCHMARKS.md, "Chunks as text").
 */
function callWorkThroughStrings({ body, blob }: Answer): number {
  const ids = decodeChunk(blob);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error('a repeated ID');
    seen.add(id);
  }
  const request = JSON.stringify({ To_Account: ids, IsNeedDetail: 0 });
  return request.length + parseOnlineStatusCodes(body, ids).codes.length + ids.join('\n').length;
}

const answers = renderAnswers();
const reindented = answers.map(({ body, ids, blob }) => ({
  body: JSON.stringify(JSON.parse(body), null, 1),
  ids,
  blob,
}));
const averageBytes = Math.round(answers.reduce((sum, a) => sum + a.body.length, 0) / answers.length);

const before = countParsePaths();
parseOnlineStatusCodes(answers[0]!.body, answers[0]!.ids);
const fastPathTaken = countParsePaths().fast === before.fast + 1;
if (!fastPathTaken)
  throw new Error('a rendered answer did not take the one pass: the comparison would be wrong');

const full = measure(answers, ({ body, ids }) => parseOnlineStatusResponse(body, ids, { detail: false }));
const compact = measure(answers, ({ body, ids }) => parseOnlineStatusCodes(body, ids));
const fallback = measure(reindented, ({ body, ids }) => parseOnlineStatusCodes(body, ids));
const floor = measure(answers, readEveryCharacter);
const callFromText = measure(answers, callWorkFromText);
const callThroughStrings = measure(answers, callWorkThroughStrings);

const rows = [
  ['full parser (objects)', full],
  ['compact, one pass', compact],
  ['compact, fallback', fallback],
  ['reading each char (floor)', floor],
  ['call from stored text', callFromText],
  ['call through strings', callThroughStrings],
] as const;
console.log(
  `${answers.length} answers of ${IDS_PER_ANSWER} IDs, ${averageBytes} B each; ${rounds} rounds x ${trials} trials`,
);
for (const [label, m] of rows) {
  console.log(
    `${label.padEnd(26)} ${m.usPerAnswer.toFixed(1).padStart(6)} CPU µs/answer (best ` +
      `${m.bestUsPerAnswer.toFixed(1).padStart(6)}) ${(m.bestUsPerAnswer / IDS_PER_ANSWER).toFixed(3)} µs/user ` +
      `${String(m.bytesPerAnswer).padStart(7)} B/answer`,
  );
}
const ratio = full.bestUsPerAnswer / compact.bestUsPerAnswer;
console.log(
  `full / compact (best of trials): ${ratio.toFixed(1)}x CPU time, ${(full.bytesPerAnswer / compact.bytesPerAnswer).toFixed(1)}x bytes`,
);

mkdirSync(BENCH_DIR, { recursive: true });
const outPath = join(BENCH_DIR, 'parse.json');
writeFileSync(
  outPath,
  `${JSON.stringify(
    {
      node: process.version,
      answers: answers.length,
      idsPerAnswer: IDS_PER_ANSWER,
      bodyBytes: averageBytes,
      rounds,
      trials,
      full,
      compact,
      compactFallback: fallback,
      readEveryCharacter: floor,
      callFromStoredText: callFromText,
      callThroughStrings,
      ratioOfBest: Number(ratio.toFixed(2)),
    },
    null,
    2,
  )}\n`,
);
console.log(`written to ${outPath}`);
