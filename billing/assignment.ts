/**
 * Maximum-weight one-to-one assignment between two sets (rows and columns), by the Hungarian method (Kuhn–Munkres)
 * with potentials and shortest augmenting paths, O(n³) for n = max(rows, cols).
 *
 * Written here rather than taken from npm: none of the installed packages does it, the workspace's node_modules is
 * shared and not ours to add to, and the method is short and covered by a test against brute force over every
 * assignment (test/unit/billing/assignment.test.ts). The sets it sees are small (the billing records and sessions of
 * one meter in one case), so the cubic bound is no concern.
 */

/**
 * `weight(r, c)` > 0 for a pair that may be matched; anything else (≤ 0, NaN, −∞) forbids the pair. Returns, for
 * each row, the column it is assigned to, or −1. The total weight of the pairs is the largest possible; among the
 * assignments reaching it, which one is returned is fixed by the input order (deterministic).
 */
export function maxWeightAssignment(rows: number, cols: number, weight: (r: number, c: number) => number): number[] {
  const n = Math.max(rows, cols);
  const result = new Array<number>(rows).fill(-1);
  if (rows === 0 || cols === 0) return result;
  // Square cost matrix (1-based, as the method is usually written): cost −w for an allowed pair, 0 for a forbidden
  // one or a padding cell. A maximum-weight matching with positive weights is a minimum-cost assignment of this
  // matrix with its zero-cost pairs dropped afterwards.
  const cost = new Float64Array((n + 1) * (n + 1));
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const w = weight(r, c);
      if (w > 0 && Number.isFinite(w)) cost[(r + 1) * (n + 1) + c + 1] = -w;
    }
  }
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  /** rowOf[j]: the row assigned to column j (0 = none yet). */
  const rowOf = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    rowOf[0] = i;
    let j0 = 0;
    minv.fill(Number.POSITIVE_INFINITY);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOf[j0]!;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[i0 * (n + 1) + j]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[rowOf[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (rowOf[j0] !== 0);
    do {
      const j1 = way[j0]!;
      rowOf[j0] = rowOf[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  for (let j = 1; j <= cols; j++) {
    const r = rowOf[j]! - 1;
    if (r >= 0 && r < rows && cost[(r + 1) * (n + 1) + j]! < 0) result[r] = j - 1;
  }
  return result;
}
