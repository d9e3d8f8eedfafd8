import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileValidationError, InputError, NotFoundError } from '../errors.js';

/**
 * Reading and writing the files a user names on the command line, so a wrong path is an input error (exit 2) that
 * says which file and what to do, never a raw ENOENT/EISDIR.
 */

/** Size of a file the user named; a missing file or a directory is an input error naming it. */
export function inputFileSize(file: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch {
    throw new NotFoundError(`${file}: file not found`, [{ file, message: 'file not found' }], ['Check the path.']);
  }
  if (st.isDirectory())
    throw new InputError(
      `${file} is a directory; a file is needed here`,
      [{ file, message: 'is a directory' }],
      ['Give the path of the file inside it.'],
    );
  return st.size;
}

export function readInputText(file: string): string {
  inputFileSize(file);
  return readFileSync(file, 'utf8');
}

/** JSON from a file: a syntax error names the file, line and column (e.g. a CSV given where the JSON goes). */
export function readJsonFile(file: string, what = 'a JSON file'): unknown {
  const text = readInputText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    const pos = /position (\d+)/.exec((e as Error).message);
    const before = pos ? text.slice(0, Number(pos[1])) : '';
    const line = pos ? before.split('\n').length : 1;
    const column = pos ? Number(pos[1]) - before.lastIndexOf('\n') : 1;
    throw new FileValidationError(file, [
      { file, line, column, message: `not JSON (${(e as Error).message.split('\n')[0]}); expected ${what}` },
    ]);
  }
}

/** An output path named by `flag` (e.g. `--out`) can be written: its folder exists and it is no directory. */
export function checkOutputPath(flag: string, file: string): void {
  const dir = dirname(resolve(file));
  let dirOk = false;
  try {
    dirOk = statSync(dir).isDirectory();
  } catch {}
  if (!dirOk)
    throw new InputError(
      `${flag} ${file}: folder ${dir} does not exist`,
      [{ file: flag, message: 'no such folder' }],
      [`Create it first (mkdir -p ${dir}) or write somewhere else.`],
    );
  try {
    if (statSync(file).isDirectory())
      throw new InputError(
        `${flag} ${file} is a directory; give a file name`,
        [{ file: flag, message: 'is a directory' }],
        [`e.g. ${flag} ${file.replace(/\/$/, '')}/out.yaml`],
      );
  } catch (e) {
    if (e instanceof InputError) throw e;
  }
}

/** Writes an output file named by `flag`; a missing folder, a directory or a write error is an input error. */
export function writeOutputFile(flag: string, file: string, data: string | Uint8Array): void {
  checkOutputPath(flag, file);
  try {
    writeFileSync(file, data);
  } catch (e) {
    throw new InputError(
      `${flag} ${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      [{ file: flag, message: 'cannot write' }],
      ['Check the path and its permissions.'],
    );
  }
}

/**
 * Runs `load` on every file and reports every bad one together (a typo in the first file must not hide the
 * others'); the good ones' results come back when all are good.
 */
export function validateEach<T>(files: readonly string[], load: (file: string) => T): T[] {
  const out: T[] = [];
  const bad: InputError[] = [];
  for (const f of files) {
    try {
      out.push(load(f));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      bad.push(e);
    }
  }
  if (bad.length === 0) return out;
  if (bad.length === 1) throw bad[0];
  throw new InputError(
    `${bad.length} of ${files.length} files are not valid:\n${bad.map((e) => e.message).join('\n')}`,
    bad.flatMap((e) => e.problems),
    [...new Set(bad.flatMap((e) => e.actions))],
  );
}
