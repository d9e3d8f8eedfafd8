import { describe, expect, it } from 'vitest';
import { maxWeightAssignment } from '../../../billing/assignment.js';
import { seededRandom } from '../../../core/random.js';

/** The best total weight over every one-to-one partial assignment (exhaustive; small sizes only). */
function bruteForceBest(w: number[][], cols: number): number {
  const usedCols = new Set<number>();
  const go = (r: number): number => {
    if (r === w.length) return 0;
    let best = go(r + 1); // row r left unassigned
    for (let c = 0; c < cols; c++) {
      const x = w[r]![c]!;
      if (usedCols.has(c) || !(x > 0)) continue;
      usedCols.add(c);
      best = Math.max(best, x + go(r + 1));
      usedCols.delete(c);
    }
    return best;
  };
  return go(0);
}

describe('maxWeightAssignment', () => {
  it('reaches the brute-force optimum on 600 random matrices (rectangular, forbidden pairs, ties)', () => {
    const rnd = seededRandom(13);
    for (let k = 0; k < 600; k++) {
      const rows = Math.floor(rnd.next() * 6);
      const cols = Math.floor(rnd.next() * 6);
      // Integer weights so ties are common; about a third of the pairs forbidden (0 or negative).
      const w = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () =>
          rnd.next() < 0.35 ? -Math.floor(rnd.next() * 3) : 1 + Math.floor(rnd.next() * 5),
        ),
      );
      const a = maxWeightAssignment(rows, cols, (r, c) => w[r]![c]!);
      expect(a).toHaveLength(rows);
      const taken = a.filter((c) => c >= 0);
      expect(new Set(taken).size, 'each column at most once').toBe(taken.length);
      for (const [r, c] of a.entries()) if (c >= 0) expect(w[r]![c]!, 'only allowed pairs').toBeGreaterThan(0);
      const total = a.reduce((s, c, r) => s + (c >= 0 ? w[r]![c]! : 0), 0);
      expect(total).toBe(bruteForceBest(w, cols));
    }
  });

  it('gives up a greedy best pair when two others together weigh more', () => {
    // Greedy takes (0,0)=10 and leaves row 1 alone; the optimum pairs (0,1)+(1,0) = 9 + 9.
    const w = [
      [10, 9],
      [9, 0],
    ];
    expect(maxWeightAssignment(2, 2, (r, c) => w[r]![c]!)).toEqual([1, 0]);
  });

  it('leaves every row unassigned when no pair is allowed, and handles empty sides', () => {
    expect(maxWeightAssignment(3, 2, () => 0)).toEqual([-1, -1, -1]);
    expect(maxWeightAssignment(2, 0, () => 1)).toEqual([-1, -1]);
    expect(maxWeightAssignment(0, 4, () => 1)).toEqual([]);
    expect(maxWeightAssignment(1, 1, () => Number.NaN)).toEqual([-1]);
  });
});
