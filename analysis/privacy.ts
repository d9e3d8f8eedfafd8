/** Arrays longer than this in a meter's output can only be raw samples, which must never leave the meter. */
const MAX_ARRAY_OUTSIDE_METER = 64;

/**
 * Privacy leaks in one meter output: raw samples (an array longer than a meter may send) and each contract id of the
 * case found in any of its strings (keys or values). The ids are plain tokens, so a search of the output's strings
 * finds what a search of its JSON text would, without serialising every measurement a second time.
 */
export function leaksIn(data: unknown, contractIds: ReadonlySet<string>): number {
  let leaks = longestArray(data) > MAX_ARRAY_OUTSIDE_METER ? 1 : 0;
  for (const id of contractIds) if (id && containsText(data, id)) leaks++;
  return leaks;
}

function longestArray(v: unknown, depth = 0): number {
  if (depth > 6 || v === null || typeof v !== 'object') return 0;
  if (Array.isArray(v)) {
    let longest = v.length;
    for (const x of v) longest = Math.max(longest, longestArray(x, depth + 1));
    return longest;
  }
  let longest = 0;
  for (const x of Object.values(v)) longest = Math.max(longest, longestArray(x, depth + 1));
  return longest;
}

function containsText(v: unknown, text: string): boolean {
  if (typeof v === 'string') return v.includes(text);
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => containsText(x, text));
  for (const [k, x] of Object.entries(v)) if (k.includes(text) || containsText(x, text)) return true;
  return false;
}
