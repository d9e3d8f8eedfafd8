import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bench, REPO_ROOT } from '../../support/cli.js';

// cli-progress draws with these block characters (Presets.shades_classic).
const BAR = /[█░]/;

/** Runs `bench …` on a real pseudo-terminal through util-linux `script`, so stdout and stderr are TTYs. */
function benchOnTty(args: string[]): { code: number; screen: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tty-'));
  const cmd = [process.execPath, join(REPO_ROOT, 'bin/run.js'), ...args, '--runs-dir', join(dir, 'runs')]
    .concat(['--reports-dir', join(dir, 'reports')])
    .map((a) => `'${a}'`)
    .join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', cwd: REPO_ROOT });
  if (r.error) throw new Error(`util-linux script is needed for the TTY test: ${r.error.message}`);
  return { code: r.status ?? -1, screen: r.stdout };
}

describe('bench certify progress bars', () => {
  it('draws a bar per case on a terminal', () => {
    const r = benchOnTty(['certify', '--suite', 'smoke']);
    expect(r.code).toBe(0);
    expect(r.screen).toMatch(BAR);
    expect(r.screen).toMatch(/ev-and-kettle\s+\|[█░]+\| 100% PASS/);
  });

  it('draws none under --json on a terminal: the screen is the one JSON document', () => {
    const r = benchOnTty(['certify', '--suite', 'smoke', '--json']);
    expect(r.code).toBe(0);
    expect(r.screen).not.toMatch(BAR);
    expect(JSON.parse(r.screen.replace(/\r/g, '')).verdict).toBe('PASS');
  });

  it('draws none when output is not a terminal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-notty-'));
    const r = bench(['certify', '--suite', 'smoke', '--runs-dir', join(dir, 'runs'), '--reports-dir', join(dir, 'r')]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(BAR);
    expect(r.stdout).toContain('PASS  smoke on sim');
  });
});
