import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { FileValidationError, type InputProblem } from '../errors.js';
import { inputFileSize } from './io.js';

/** Data files are hand-written configuration; anything bigger is a mistake or an attack. */
export const MAX_DATA_FILE_BYTES = 8 * 1024 * 1024;
/** Caps alias expansion so a "billion laughs" YAML bomb fails fast instead of eating memory. */
const MAX_ALIAS_COUNT = 100;

export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/**
 * Parses YAML (or JSON) text and validates it with a zod schema; every problem names file:line:column and the
 * field path. Use this for every data file the bench reads so errors look the same everywhere.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new FileValidationError(
      file,
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), message: parseMessage(e.message) })),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new FileValidationError(file, [
      { file, line: 1, column: 1, message: `cannot expand YAML: ${(e as Error).message}` },
    ]);
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;

  const problems: InputProblem[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path as PropertyKey[];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyNode = findKeyNode(doc.getIn(path as unknown[], true) as Node | undefined, key);
        problems.push({
          file,
          ...locate(doc, path, keyNode, at),
          field: formatFieldPath([...path, key]),
          message: `unknown field "${key}"`,
        });
      }
      continue;
    }
    problems.push({ file, ...locate(doc, path, undefined, at), field: formatFieldPath(path), message: issue.message });
  }
  throw new FileValidationError(file, problems);
}

/** The parser's own words, except where they describe its internals rather than the file. */
function parseMessage(message: string): string {
  // The yaml parser recurses per nesting level and reports the overflow as its error at that spot.
  if (/call stack/i.test(message)) return 'nested too deeply to read (no data file needs this; a mistake or an attack)';
  return message.split('\n')[0] ?? message;
}

export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  return parseYamlWithSchema(readDataFile(file), file, schema);
}

/** Reads a data file with a size cap and a clear error when it is missing. */
export function readDataFile(file: string): string {
  const size = inputFileSize(file);
  if (size > MAX_DATA_FILE_BYTES) {
    throw new FileValidationError(file, [
      { file, line: 1, column: 1, message: `file is ${size} bytes; data files are limited to ${MAX_DATA_FILE_BYTES}` },
    ]);
  }
  return readFileSync(file, 'utf8');
}

function findKeyNode(parent: Node | undefined, key: string): Node | undefined {
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return pair?.key as Node | undefined;
}

/** Position of the node at `path`, or of its nearest existing ancestor when the field is missing. */
function locate(
  doc: ReturnType<typeof parseDocument>,
  path: readonly PropertyKey[],
  preferred: Node | undefined,
  at: (offset: number) => { line: number; column: number },
): { line: number; column: number } {
  if (preferred?.range) return at(preferred.range[0]);
  for (let n = path.length; n >= 0; n--) {
    const prefix = path.slice(0, n) as unknown[];
    const node = (n === 0 ? doc.contents : doc.getIn(prefix, true)) as Node | null | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      // A missing field is reported at its parent's key so the editor jumps to the right block.
      if (n < path.length && n > 0) {
        const parent = doc.getIn(prefix.slice(0, -1), true) as Node | undefined;
        const keyNode = findKeyNode(parent, String(prefix[prefix.length - 1]));
        if (keyNode?.range) return at(keyNode.range[0]);
      }
      return at(node.range[0]);
    }
  }
  return { line: 1, column: 1 };
}
