import { Command, Flags } from '@oclif/core';
import { ExitCode, type ExitCodeValue, isBenchError } from '../core/errors.js';
import { checkOutputPath, writeOutputFile } from '../core/files/io.js';
import type { Verdict } from '../core/record/types.js';
import type { Scenario } from '../profiles/scenario-schema.js';

/** PostgreSQL's SQLSTATE for a privilege the role lacks. */
const SQLSTATE_INSUFFICIENT_PRIVILEGE = '42501';

/** Every command: `--json` prints one JSON result and nothing else; errors map to exit codes 2 and 3. */
export abstract class BenchCommand extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {
    debug: Flags.boolean({ description: 'Print stack traces of errors.', helpGroup: 'GLOBAL' }),
  };

  /** Sets the exit code a verdict stands for, printed after the command's result. */
  protected exitWithVerdict(verdict: Verdict | 'INCOMPLETE'): void {
    process.exitCode = verdictExitCode(verdict);
  }

  /** Prints human output unless --json is on (then the returned result is the only output). */
  protected say(text: string): void {
    if (!this.jsonEnabled()) this.log(text);
  }

  /**
   * Writes a scenario to `out` (or prints its YAML) and says what it holds; the counts come from its ground truth,
   * the same a certification run would use.
   */
  protected async writeScenario(
    s: Scenario,
    seed: number,
    out: string | undefined,
  ): Promise<{ file?: string; houses: number; sessions: number; events: number; scenario?: object }> {
    const { scenarioDocument, scenarioToYaml } = await import('../profiles/generate.js');
    const { truthCounts } = await import('../profiles/ground-truth.js');
    if (out) checkOutputPath('--out', out);
    const yaml = scenarioToYaml(s);
    const counts = { houses: s.houses.length, ...truthCounts(s, seed) };
    if (out) {
      writeOutputFile('--out', out, yaml);
      this.say(`wrote ${out}: ${counts.houses} houses, ${counts.sessions} EV sessions, ${counts.events} switch events`);
    } else if (!this.jsonEnabled()) {
      this.log(yaml);
    }
    // Without --out the scenario itself is the output: under --json it is in the document, not dropped.
    return out ? { file: out, ...counts } : { ...counts, scenario: scenarioDocument(s) };
  }

  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<void> {
    const debug = this.argv.includes('--debug');
    let exitCode: ExitCodeValue;
    let payload: Record<string, unknown>;
    if (isBenchError(err)) {
      exitCode = err.exitCode;
      payload = err.toJSON();
    } else if ((err as { code?: unknown }).code === SQLSTATE_INSUFFICIENT_PRIVILEGE) {
      // The lab database refused the user's role (a viewer submitting, an agent cancelling): theirs to fix, exit 2.
      exitCode = ExitCode.INPUT;
      payload = {
        name: 'PermissionDenied',
        code: 'PERMISSION',
        message: `the lab database refused this to your user: ${err.message}`,
        exitCode,
        actions: ['A viewer reads; an agent takes jobs and stores results; submitting and cancelling need an admin.'],
      };
      err.message = payload.message as string;
    } else if (err.oclif?.exit !== undefined) {
      // oclif parse errors (unknown flag, missing argument) are usage errors.
      exitCode = err.oclif.exit === 0 ? ExitCode.PASS : ExitCode.INPUT;
      payload = { name: 'UsageError', code: 'USAGE', message: err.message, exitCode };
    } else {
      exitCode = ExitCode.RIG;
      payload = { name: 'InternalError', code: 'INTERNAL', message: err.message, exitCode };
    }
    if (this.jsonEnabled()) {
      this.logJson({ error: payload });
    } else {
      const actions = (payload.actions as string[] | undefined) ?? [];
      process.stderr.write(`Error: ${err.message}\n${actions.map((a) => `  → ${a}\n`).join('')}`);
      if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
      else if (payload.code === 'INTERNAL') process.stderr.write('  (run again with --debug for the stack trace)\n');
    }
    this.exit(exitCode);
  }
}

export function verdictExitCode(verdict: Verdict | 'INCOMPLETE'): ExitCodeValue {
  switch (verdict) {
    case 'PASS':
    case 'MARGINAL':
      return ExitCode.PASS;
    case 'ERROR':
      return ExitCode.RIG;
    default:
      return ExitCode.FAIL;
  }
}
