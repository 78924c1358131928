import { describe, expect, it } from 'vitest';
import { createPopulation } from '../../src/simulator/population.js';
import { createRng } from '../../src/simulator/prng.js';
import { renderAnswer } from '../../src/simulator/render.js';
import { parseOnlineStatusResponse } from '../../src/tencent/parse.js';

describe('renderAnswer', () => {
  const population = createPopulation(createRng(11), { size: 300, notImportedShare: 0.1 });
  const lookup = (id: string) => population.users.get(id);
  const ids = [...population.allIds, 'never-created'];

  it.each([
    [false, 'Status'],
    [true, 'Status'],
    [false, 'State'],
    [true, 'State'],
  ] as const)(
    'answers detail=%s with field %s in a shape the client parses back to the truth',
    (detail, field) => {
      const body = renderAnswer(ids, lookup, detail, field);
      expect(body).toContain(`"${field}":"`);
      const parsed = parseOnlineStatusResponse(body, ids, { detail });
      for (const result of parsed.results) {
        const user = population.users.get(result.userId);
        expect(result.state).toBe(user?.state);
        if (detail) {
          expect(result.devices).toEqual(user?.devices.filter((d) => d.status !== 'Offline'));
        } else {
          expect(result.devices).toBeUndefined();
        }
      }
      const notFound = parsed.accountErrors.map((e) => e.userId);
      expect(notFound).toContain('never-created');
      expect(notFound.length).toBe(ids.length - population.importedIds.length);
      expect(parsed.accountErrors.every((e) => e.errorCode === 70107)).toBe(true);
    },
  );

  it('answers FAIL / 70107 with the ErrorList when no account exists', () => {
    const body = JSON.parse(renderAnswer(['nobody'], lookup, false, 'Status')) as Record<string, unknown>;
    expect(body).toMatchObject({
      ActionStatus: 'FAIL',
      ErrorCode: 70107,
      ErrorList: [{ To_Account: 'nobody', ErrorCode: 70107 }],
    });
  });
});
