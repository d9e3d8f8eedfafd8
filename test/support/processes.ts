import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc shows it: pid and start time (clock ticks since boot), so a reused pid is not mistaken for it. */
export interface ProcessId {
  pid: number;
  start: string;
  cmd: string;
}

function stat(pid: number): { state: string; ppid: number; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces or parentheses.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] as string, ppid: Number(f[1]), start: f[19] as string };
  } catch {
    return undefined; // it ended while we looked
  }
}

/** Every live descendant of `root` (children, their children, …), from walking /proc. */
export function descendantsOf(root: number): ProcessId[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const s = stat(Number(p));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(p)]);
  }
  const found: ProcessId[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const s = stat(pid);
    if (!s) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue;
    }
    found.push({ pid, start: s.start, cmd });
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** True while that very process (same pid and start time) exists and has not ended (a zombie has ended). */
export function stillRunning(p: ProcessId): boolean {
  const s = stat(p.pid);
  return s !== undefined && s.start === p.start && s.state !== 'Z';
}
