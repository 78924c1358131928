import { describe, expect, it } from 'vitest';
import { createPopulation } from '../../src/simulator/population.js';
import { createRng, type Rng } from '../../src/simulator/prng.js';
import { renderAnswer, type StateFieldName } from '../../src/simulator/render.js';
import { TencentError } from '../../src/tencent/errors.js';
import {
  countParsePaths,
  parseOnlineStatusCodes,
  type OnlineStatusCodes,
} from '../../src/tencent/parse-codes.js';
import { parseOnlineStatusResponse } from '../../src/tencent/parse.js';
import type { AccountError, OnlineStatusResult, PresenceState } from '../../src/tencent/types.js';
import { ACCOUNT_ERROR_LETTER, QUARANTINED_LETTER, STATE_CODES } from '../../src/vocabulary.js';
import { FAILED_ANSWERS, MALFORMED_ANSWERS, PARTIAL_ANSWERS } from './parse-corpus.js';
import { UserIdList } from '../../src/tencent/user-id-list.js';

const LETTER: Record<PresenceState, string> = {
  Online: STATE_CODES.Online,
  PushOnline: STATE_CODES.PushOnline,
  Offline: STATE_CODES.Offline,
};

/** The reference reading: the full parser's result, written as codes in asked order. */
function codesOf(result: OnlineStatusResult, asked: readonly string[]): OnlineStatusCodes {
  const letters = new Map<string, string>();
  const errors = new Map<string, AccountError>();
  for (const r of result.results) letters.set(r.userId, LETTER[r.state]);
  for (const e of result.accountErrors) {
    letters.set(e.userId, e.errorCode === 70107 ? STATE_CODES.NotFound : ACCOUNT_ERROR_LETTER);
    errors.set(e.userId, e);
  }
  const codes = asked.map((id) => letters.get(id) ?? QUARANTINED_LETTER).join('');
  const otherAccountErrors = asked
    .filter((id) => letters.get(id) === ACCOUNT_ERROR_LETTER)
    .map((id) => errors.get(id)!);
  return { codes, otherAccountErrors, quarantined: result.quarantined };
}

type Rejection = Pick<TencentError, 'kind' | 'code' | 'retriable' | 'errorCode'>;
type Outcome = { accepted: OnlineStatusCodes } | { rejected: Rejection };

function outcomeOf(parse: () => OnlineStatusCodes): Outcome {
  try {
    return { accepted: parse() };
  } catch (error) {
    if (!(error instanceof TencentError)) throw error;
    return {
      rejected: {
        kind: error.kind,
        code: error.code,
        retriable: error.retriable,
        ...(error.errorCode === undefined ? {} : { errorCode: error.errorCode }),
      },
    };
  }
}

const MALFORMED: Outcome = {
  rejected: { kind: 'malformed', code: 'TENCENT_MALFORMED_RESPONSE', retriable: true },
};

/** The compact reading, of the IDs as an array and (where they can be one) as a stored chunk's text: both alike. */
const compactOutcome = (body: string, asked: readonly string[]): Outcome => {
  const outcome = outcomeOf(() => parseOnlineStatusCodes(body, asked));
  if (!asked.some((id) => id.includes('\n'))) {
    const stored = UserIdList.fromText(asked.join('\n'));
    // The same outcome by the same path.
    expect(pathOf(() => parseOnlineStatusCodes(body, stored))).toBe(
      pathOf(() => parseOnlineStatusCodes(body, asked)),
    );
    expect(outcomeOf(() => parseOnlineStatusCodes(body, stored))).toEqual(outcome);
  }
  return outcome;
};
const fullOutcome = (body: string, asked: readonly string[]): Outcome =>
  outcomeOf(() => codesOf(parseOnlineStatusResponse(body, asked, { detail: true }), asked));

/** Runs `parse` and says which path it took. */
function pathOf(parse: () => unknown): 'fast' | 'full' {
  const before = countParsePaths();
  try {
    parse();
  } catch {
    // the path is what is asked here; outcomes are asserted elsewhere
  }
  const after = countParsePaths();
  if (after.fast === before.fast + 1 && after.full === before.full) return 'fast';
  if (after.full === before.full + 1 && after.fast === before.fast) return 'full';
  throw new Error('expected exactly one parse');
}

/** An answer in the simulator's layout, built by hand so that tests choose every part. */
function renderCompact(
  entries: ReadonlyArray<{ id: string; state?: PresenceState; errorCode?: number; field?: StateFieldName }>,
): string {
  const results = entries
    .filter((e) => e.state)
    .map((e) => `{"To_Account":${JSON.stringify(e.id)},"${e.field ?? 'Status'}":"${e.state}"}`);
  const errors = entries
    .filter((e) => e.errorCode !== undefined)
    .map((e) => `{"To_Account":${JSON.stringify(e.id)},"ErrorCode":${e.errorCode}}`);
  return `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"QueryResult":[${results.join(',')}],"ErrorList":[${errors.join(',')}]}`;
}

describe('parseOnlineStatusCodes', () => {
  it('reads one letter per asked ID in asked order, other account errors listed in the same order', () => {
    const asked = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    const body = renderCompact([
      { id: 'u1', state: 'Online' },
      { id: 'u2', errorCode: 70107 },
      { id: 'u3', state: 'PushOnline', field: 'State' },
      { id: 'u4', errorCode: 70169 },
      { id: 'u5', state: 'Offline' },
      { id: 'u6', errorCode: 60015 },
    ]);
    expect(pathOf(() => parseOnlineStatusCodes(body, asked))).toBe('fast');
    expect(parseOnlineStatusCodes(body, asked)).toEqual({
      codes: 'NXP?F?',
      otherAccountErrors: [
        { userId: 'u4', errorCode: 70169 },
        { userId: 'u6', errorCode: 60015 },
      ],
      quarantined: [],
    });
  });

  it.each(['Status', 'State'] as const)(
    'takes the one pass for the simulator renderer (field %s) and reads the truth',
    (field) => {
      const population = createPopulation(createRng(7), { size: 500, notImportedShare: 0.05 });
      const lookup = (id: string) => population.users.get(id);
      const ids = population.allIds;
      const body = Buffer.from(renderAnswer(ids, lookup, false, field)).toString('utf8');
      expect(pathOf(() => parseOnlineStatusCodes(body, ids))).toBe('fast');
      const { codes, otherAccountErrors } = parseOnlineStatusCodes(body, ids);
      const truth = ids
        .map((id) => {
          const user = population.users.get(id)!;
          return user.imported ? LETTER[user.state] : STATE_CODES.NotFound;
        })
        .join('');
      expect(codes).toBe(truth);
      expect(codes).toContain(STATE_CODES.NotFound);
      expect(otherAccountErrors).toEqual([]);
    },
  );

  it("reads the simulator's all-not-found FAIL answer through the full parser", () => {
    const body = renderAnswer(['a', 'b'], () => undefined, false, 'Status');
    expect(pathOf(() => parseOnlineStatusCodes(body, ['a', 'b']))).toBe('full');
    expect(parseOnlineStatusCodes(body, ['a', 'b'])).toEqual({
      codes: 'XX',
      otherAccountErrors: [],
      quarantined: [],
    });
  });

  it.each(MALFORMED_ANSWERS)('rejects %s as malformed, like the full parser', (_label, body, asked) => {
    expect(compactOutcome(body, asked)).toEqual(MALFORMED);
    expect(fullOutcome(body, asked)).toEqual(MALFORMED);
  });

  it.each(FAILED_ANSWERS)('classifies %s like the full parser', (_label, body, asked, kind, errorCode) => {
    expect(compactOutcome(body, asked)).toMatchObject({ rejected: { kind, errorCode } });
    expect(fullOutcome(body, asked)).toEqual(compactOutcome(body, asked));
  });

  it.each(PARTIAL_ANSWERS)(
    'sets aside the bad entry of %s and reads the rest, like the full parser',
    (_label, body, asked, codes, kinds) => {
      const outcome = compactOutcome(body, asked);
      expect(outcome).toMatchObject({ accepted: { codes } });
      if ('accepted' in outcome) expect(outcome.accepted.quarantined.map((q) => q.kind)).toEqual(kinds);
      expect(fullOutcome(body, asked)).toEqual(outcome);
    },
  );

  it('sets aside an ID answered twice even when the ID was asked twice', () => {
    const asked = ['a', 'b', 'a'];
    const twice = renderCompact([
      { id: 'a', state: 'Online' },
      { id: 'b', state: 'Online' },
      { id: 'a', state: 'Offline' },
    ]);
    expect(compactOutcome(twice, asked)).toMatchObject({ accepted: { codes: '!N!' } });
    expect(fullOutcome(twice, asked)).toEqual(compactOutcome(twice, asked));
    const once = renderCompact([
      { id: 'a', state: 'Online' },
      { id: 'b', state: 'Offline' },
    ]);
    expect(compactOutcome(once, asked)).toEqual({
      accepted: { codes: 'NFN', otherAccountErrors: [], quarantined: [] },
    });
    expect(fullOutcome(once, asked)).toEqual(compactOutcome(once, asked));
  });

  it('leaves IDs that JSON must escape to the full parser and reads them the same', () => {
    const asked = ['quote"d', 'back\\slash', 'new\nline', 'ctrl\u0001', '用户', '😀', 'sep\u2028'];
    const body = renderCompact(asked.map((id, i) => ({ id, state: i % 2 ? 'Online' : 'Offline' })));
    expect(pathOf(() => parseOnlineStatusCodes(body, asked))).toBe('full');
    expect(parseOnlineStatusCodes(body, asked).codes).toBe('FNFNFNF');
    const plain = ['用户', '😀', 'sep\u2028'];
    const plainBody = renderCompact(plain.map((id) => ({ id, state: 'PushOnline' })));
    expect(pathOf(() => parseOnlineStatusCodes(plainBody, plain))).toBe('fast');
    expect(parseOnlineStatusCodes(plainBody, plain).codes).toBe('PPP');
  });

  it('reads an ID raw where JSON requires an escape as malformed, like the full parser', () => {
    const asked = ['a"b'];
    const body =
      '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"QueryResult":[{"To_Account":"a"b","Status":"Online"}]}';
    expect(compactOutcome(body, asked)).toEqual(MALFORMED);
    expect(fullOutcome(body, asked)).toEqual(MALFORMED);
  });

  it('gives the same outcome as the full parser for every one-character change of an answer', () => {
    const asked = ['u01', 'u02', 'u03', 'u04', 'u05'];
    const bodies = [
      renderCompact([
        { id: 'u01', state: 'Online' },
        { id: 'u02', errorCode: 70107 },
        { id: 'u03', state: 'PushOnline', field: 'State' },
        { id: 'u04', errorCode: 70169 },
        { id: 'u05', state: 'Offline' },
      ]),
      `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"QueryResult":[{"To_Account":"u01","Status":"Online"},` +
        `{"To_Account":"u02","State":"Offline"},{"To_Account":"u03","Status":"Online"},` +
        `{"To_Account":"u04","Status":"PushOnline"},{"To_Account":"u05","Status":"Online"}]}`,
    ];
    // Characters that matter to JSON or to the known shape, one at a time.
    const alphabet = [...' "\\,:{}[]019-.euX\n'];
    let cases = 0;
    let accepted = 0;
    let fast = 0;
    for (const base of bodies) {
      for (let at = 0; at <= base.length; at += 1) {
        const variants = alphabet.map((c) => base.slice(0, at) + c + base.slice(at));
        if (at < base.length) {
          variants.push(base.slice(0, at) + base.slice(at + 1));
          for (const c of alphabet) variants.push(base.slice(0, at) + c + base.slice(at + 1));
        }
        for (const body of variants) {
          const compact = compactOutcome(body, asked);
          const full = fullOutcome(body, asked);
          if (JSON.stringify(compact) !== JSON.stringify(full)) {
            expect({ body, compact }).toEqual({ body, compact: full });
          }
          cases += 1;
          if ('accepted' in compact) accepted += 1;
          if (pathOf(() => parseOnlineStatusCodes(body, asked)) === 'fast') fast += 1;
        }
      }
    }
    expect(cases).toBeGreaterThan(10_000);
    // Some changes keep a valid answer (a digit of an error code, whitespace): both paths were exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(fast).toBeGreaterThan(10);
  });

  it('equals the full parser on generated answers of every shape, in one pass only for the known shape', () => {
    const rng = createRng(18);
    const seen = new Map<string, number>();
    for (let n = 0; n < 400; n += 1) {
      const { body, asked, shape } = generateAnswer(rng);
      const compact = compactOutcome(body, asked);
      expect(compact).toEqual(fullOutcome(body, asked));
      expect('accepted' in compact).toBe(true);
      const needsEscape = asked.some((id) => JSON.stringify(id) !== `"${id}"`);
      const expected = KNOWN_SHAPES.includes(shape) && !needsEscape ? 'fast' : 'full';
      expect({ shape, path: pathOf(() => parseOnlineStatusCodes(body, asked)) }).toEqual({
        shape,
        path: expected,
      });
      seen.set(`${shape}/${expected}`, (seen.get(`${shape}/${expected}`) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(
      [...SHAPES.map((shape) => `${shape}/full`), ...KNOWN_SHAPES.map((shape) => `${shape}/fast`)].sort(),
    );
  });
});

const STATES: readonly PresenceState[] = ['Online', 'PushOnline', 'Offline'];
const ODD_IDS = ['quote"', 'back\\', 'tab\t', '用户', '😀', 'sep\u2028', 'ctrl\u001f'];

/** Layouts of a generated answer; the first two are the known shape (the simulator's), the rest fall back. */
const SHAPES = ['compact', 'no error list', 'reversed', 'indented', 'key order', 'detail'];
const KNOWN_SHAPES = SHAPES.slice(0, 2);

/** A valid answer to a random question: 1..500 IDs, a mix of states and errors, in one of `SHAPES`. */
function generateAnswer(rng: Rng): { body: string; asked: string[]; shape: string } {
  const shape = rng.pick(SHAPES);
  const count = rng.next() < 0.3 ? rng.int(2, 5) : rng.int(2, 500);
  const withOddIds = rng.next() < 0.2;
  const asked = Array.from({ length: count }, (_, i) =>
    withOddIds && rng.next() < 0.1 ? `${rng.pick(ODD_IDS)}${i}` : `user-${rng.int(0, 9)}-${i}`,
  );
  const errorShare = shape === 'no error list' ? 0 : rng.pick([0, 0.01, 0.3, 0.9]);
  const mixedFields = rng.next() < 0.3;
  const answerField: StateFieldName = rng.next() < 0.5 ? 'Status' : 'State';
  const entries = asked.map((id, i) => {
    // The first two IDs are always answered, so that a reversed QueryResult is out of order.
    if (i >= 2 && rng.next() < errorShare) {
      return { id, errorCode: rng.next() < 0.8 ? 70107 : rng.pick([70169, 60015, 1, 999_999_999]) };
    }
    const field: StateFieldName = mixedFields ? rng.pick(['Status', 'State'] as const) : answerField;
    return { id, state: rng.pick(STATES), field };
  });
  if (shape === 'compact') return { body: renderCompact(entries), asked, shape };

  let results: Array<Record<string, unknown>> = entries
    .filter((e) => e.state)
    .map((e) => ({ To_Account: e.id, [e.field!]: e.state }));
  const errors = entries
    .filter((e) => e.errorCode !== undefined)
    .map((e) => ({ To_Account: e.id, ErrorCode: e.errorCode }));
  if (shape === 'reversed') results.reverse();
  if (shape === 'key order') results = results.map(({ To_Account, ...state }) => ({ ...state, To_Account }));
  if (shape === 'detail') {
    results = results.map((r) => ({ ...r, Detail: [{ Platform: 'Web', Status: 'Online' }] }));
  }
  const doc = {
    ActionStatus: 'OK',
    ErrorInfo: '',
    ErrorCode: 0,
    QueryResult: results,
    ...(shape === 'no error list' ? {} : { ErrorList: errors }),
  };
  return { body: JSON.stringify(doc, null, shape === 'indented' ? 2 : undefined), asked, shape };
}
