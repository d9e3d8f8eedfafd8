/** Arrays longer than this in a meter's output can only be raw samples, which must never leave the meter. */
const MAX_ARRAY_OUTSIDE_METER = 64;
/** How deep arrays are looked for: raw samples sit near the top of an output, never deeper than this. */
const ARRAY_DEPTH = 6;

/**
 * Privacy leaks in one meter output: raw samples (an array longer than a meter may send) and each contract id of the
 * case found in any of its strings (keys or values). The ids are plain tokens, so a search of the output's strings
 * finds what a search of its JSON text would, without serialising every measurement a second time; one walk, with
 * no allocation, because it runs on every measurement of a run.
 */
export function leaksIn(data: unknown, contractIds: ReadonlySet<string>): number {
  const found = new Set<string>();
  const longest = walk(data, 0, contractIds, found);
  return (longest > MAX_ARRAY_OUTSIDE_METER ? 1 : 0) + found.size;
}

/** The longest array within ARRAY_DEPTH levels; adds to `found` each id that a string of `v` contains. */
function walk(v: unknown, depth: number, ids: ReadonlySet<string>, found: Set<string>): number {
  if (typeof v === 'string') {
    search(v, ids, found);
    return 0;
  }
  if (v === null || typeof v !== 'object') return 0;
  let longest = 0;
  if (Array.isArray(v)) {
    if (depth <= ARRAY_DEPTH) longest = v.length;
    for (const x of v) longest = Math.max(longest, walk(x, depth + 1, ids, found));
    return depth <= ARRAY_DEPTH ? longest : 0;
  }
  for (const k in v) {
    search(k, ids, found);
    longest = Math.max(longest, walk((v as Record<string, unknown>)[k], depth + 1, ids, found));
  }
  return depth <= ARRAY_DEPTH ? longest : 0;
}

function search(text: string, ids: ReadonlySet<string>, found: Set<string>): void {
  for (const id of ids) if (id && !found.has(id) && text.includes(id)) found.add(id);
}
