import { concat, keccak256 } from 'ethers';

// --- Merkle tree of the batched path: the same reduction as BillingLedger.merkleRoot -------------------------

/** Pairs hashed with OpenZeppelin's commutative keccak256 (sorted pair); an odd last node moves up unchanged. */
export function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) throw new RangeError('merkleRoot: no leaves');
  let level = [...leaves];
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** Every level of the tree, leaves first, root last. */
export function merkleLevels(leaves: readonly string[]): string[][] {
  if (leaves.length === 0) throw new RangeError('merkleLevels: no leaves');
  const levels = [[...leaves]];
  while (levels.at(-1)!.length > 1) {
    const level = levels.at(-1)!;
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    levels.push(next);
  }
  return levels;
}

/** Sibling hashes from leaf `index` up to the root (OpenZeppelin MerkleProof.verify compatible). */
export function merkleProof(leaves: readonly string[] | string[][], index: number): string[] {
  const levels = Array.isArray(leaves[0]) ? (leaves as string[][]) : merkleLevels(leaves as string[]);
  if (index < 0 || index >= levels[0]!.length) throw new RangeError(`merkleProof: index ${index} out of range`);
  const proof: string[] = [];
  let i = index;
  for (const level of levels.slice(0, -1)) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    i = Math.floor(i / 2);
  }
  return proof;
}

export function verifyMerkleProof(leaf: string, proof: readonly string[], root: string): boolean {
  let h = leaf;
  for (const p of proof) h = hashPair(h, p);
  return h.toLowerCase() === root.toLowerCase();
}
