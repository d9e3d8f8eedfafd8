import { createHash } from 'node:crypto';

/**
 * Hash-chained JSONL lines. Each line is a JSON object whose last key is `hash`: the SHA-256 of the line's own
 * bytes without that key. Each entry also carries `prev`, the hash of the entry before it. Hashing raw bytes
 * (not re-serialised JSON) means one changed byte anywhere is detected.
 */
export const GENESIS_HASH = '0'.repeat(64);
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Serialises one entry body (which must be a JSON object containing `prev`) into a sealed line. */
export function sealLine(body: Record<string, unknown>): { line: string; hash: string } {
  const json = JSON.stringify(body);
  const hash = sha256Hex(json);
  return { line: `${json.slice(0, -1)},"hash":"${hash}"}`, hash };
}

export type LineCheck =
  | { ok: true; hash: string; body: Record<string, unknown> }
  | { ok: false; reason: 'malformed' | 'bad-hash' | 'bad-link'; detail: string };

/** The sealed suffix `,"hash":"<64 hex>"}` is the last 75 characters of every line. */
const SUFFIX_LENGTH = 75;
const SUFFIX_HEAD = ',"hash":"';
const HEX64 = /^[0-9a-f]{64}$/;

export function checkLine(line: string, expectedPrev: string): LineCheck {
  // Read at its fixed place rather than by HASH_SUFFIX: a regex anchored at the end still tries every position of a
  // line, which was a tenth of verifying a long record.
  const at = line.length - SUFFIX_LENGTH;
  const hash = line.slice(at + SUFFIX_HEAD.length, -2);
  if (at < 0 || !line.startsWith(SUFFIX_HEAD, at) || !line.endsWith('"}') || !HEX64.test(hash))
    return { ok: false, reason: 'malformed', detail: 'line does not end with a hash' };
  const json = `${line.slice(0, at)}}`;
  if (sha256Hex(json) !== hash) return { ok: false, reason: 'bad-hash', detail: 'content does not match its hash' };
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'malformed', detail: 'not valid JSON' };
  }
  if (body.prev !== expectedPrev) {
    return { ok: false, reason: 'bad-link', detail: `prev ${String(body.prev)} does not match ${expectedPrev}` };
  }
  return { ok: true, hash, body };
}

/** True when `text` has the shape of the start of a sealed line, i.e. it may be a line cut short by a crash. */
export function looksTruncated(text: string): boolean {
  return text.startsWith('{') && !HASH_SUFFIX.test(text) && !/"hash":"[0-9a-f]{64}"\}./.test(text);
}
