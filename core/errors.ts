/**
 * Typed errors that carry the CLI exit code and the actions a user can take.
 * FAIL (exit 1) is a verdict, never an error; errors are input problems (2) or rig/infrastructure problems (3).
 */
export const ExitCode = { PASS: 0, FAIL: 1, INPUT: 2, RIG: 3 } as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
  /** Dotted field path inside the file, e.g. `cases[2].criteria[0].limit`. */
  field?: string;
}

export function formatLocation(loc: SourceLocation): string {
  const pos = loc.line !== undefined ? `:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}` : '';
  return `${loc.file}${pos}${loc.field ? ` ${loc.field}` : ''}`;
}

export abstract class BenchError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  abstract readonly code: string;
  readonly actions: string[];
  constructor(message: string, actions: string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.actions = actions;
  }
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, exitCode: this.exitCode, actions: this.actions };
  }
}

export interface InputProblem extends SourceLocation {
  message: string;
}

/** Bad user input: a file, a flag, an argument. Exit 2. */
export class InputError extends BenchError {
  readonly exitCode = ExitCode.INPUT;
  readonly code: string = 'INPUT';
  readonly problems: InputProblem[];
  constructor(message: string, problems: InputProblem[] = [], actions: string[] = []) {
    super(message, actions);
    this.problems = problems;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/** One or more problems found while loading a data file (suite, profile, rig, scenario). */
export class FileValidationError extends InputError {
  override readonly code = 'FILE_INVALID';
  constructor(file: string, problems: InputProblem[]) {
    super(
      `${file} is not valid:\n${problems.map((p) => `  ${formatLocation(p)}: ${p.message}`).join('\n')}`,
      problems,
      ['Fix the fields listed above; `bench schema <kind>` prints the JSON Schema for editor completion.'],
    );
  }
}

export class NotFoundError extends InputError {
  override readonly code = 'NOT_FOUND';
}

/** An instrument, transport, chain or other piece of infrastructure failed. Exit 3. */
export class RigError extends BenchError {
  readonly exitCode = ExitCode.RIG;
  readonly code: string;
  /** The instrument, device or service the error is about, when there is one. */
  readonly device?: string;
  constructor(message: string, opts: { code?: string; device?: string; actions?: string[]; cause?: unknown } = {}) {
    super(opts.device ? `${opts.device}: ${message}` : message, opts.actions ?? [], { cause: opts.cause });
    this.code = opts.code ?? 'RIG';
    this.device = opts.device;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), device: this.device };
  }
}

export function isBenchError(e: unknown): e is BenchError {
  return e instanceof BenchError;
}
