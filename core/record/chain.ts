import * as crypto from 'node:crypto';

/**
 * Hash-chained JSONL lines. Each line is a JSON object whose last key is `hash`: the SHA-256 of the line's own
 * bytes without that key. Each entry also carries `prev`, the hash of the entry before it. Hashing raw bytes
 * (not re-serialised JSON) means one changed byte anywhere is detected.
 */
export const GENESIS_HASH = '0'.repeat(64);
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

/**
 * Node's one-shot hash (20.12 and later) where there is one: a record seals and checks one line per entry, and a Hash
 * object per line was half the cost of hashing a short line.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
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

/** The start of a line as the writer seals it: `{"seq":N,"t":T,"kind":"K",`. */
const SEALED_HEAD = /^\{"seq":(\d+),"t":-?\d+,"kind":"([^"\\]+)",/;
/** `,"prev":"<64 hex>"`: the body's last key (RecordEntry's order), just before the hash suffix. */
const PREV_LENGTH = 74;
const PREV_HEAD = ',"prev":"';

/**
 * checkLine without parsing the line, for a reader that does not need its entry (certify's report skips the
 * measurements it analysed as they ran): the hash, the link to `expectedPrev` and the sequence number `seq` are
 * checked where the writer puts them. Its kind and hash when the line holds; undefined when it cannot be read that
 * way or does not hold, and the caller checks it with checkLine, which names the problem. A line is not checked to
 * be JSON here: one whose bytes match its hash is the line that was sealed.
 */
export function checkSealedLine(
  line: string,
  expectedPrev: string,
  seq: number,
): { kind: string; hash: string } | undefined {
  const at = line.length - SUFFIX_LENGTH;
  const prevAt = at - PREV_LENGTH;
  if (prevAt < 0 || !line.startsWith(SUFFIX_HEAD, at) || !line.endsWith('"}')) return undefined;
  if (!line.startsWith(PREV_HEAD, prevAt) || line.slice(prevAt + PREV_HEAD.length, at - 1) !== expectedPrev)
    return undefined;
  if (line.charCodeAt(at - 1) !== 34) return undefined;
  const head = SEALED_HEAD.exec(line.slice(0, 96));
  if (!head || Number(head[1]) !== seq) return undefined;
  const hash = line.slice(at + SUFFIX_HEAD.length, -2);
  if (!HEX64.test(hash) || sha256Hex(`${line.slice(0, at)}}`) !== hash) return undefined;
  return { kind: head[2]!, hash };
}

/** True when `text` has the shape of the start of a sealed line, i.e. it may be a line cut short by a crash. */
export function looksTruncated(text: string): boolean {
  return text.startsWith('{') && !HASH_SUFFIX.test(text) && !/"hash":"[0-9a-f]{64}"\}./.test(text);
}
