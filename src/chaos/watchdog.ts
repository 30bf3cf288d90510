/**
 * The stack's watchdog: a tiny process of its own (own process group, so neither Ctrl-C nor a kill of the
 * launcher's group reaches it) that holds the read end of a pipe from the launcher. The launcher writes
 * `+<pid>` for each process it starts and `-<pid>` when one has exited. When the pipe closes — the launcher
 * exited, however it died, SIGKILL included — or the launcher's pid is gone, every registered process still
 * running is sent SIGTERM, and SIGKILL a few seconds later.
 *
 * A pid is remembered with its start time (/proc/<pid>/stat) so that a recycled pid is never killed.
 */
import { readFileSync } from 'node:fs';
import { parseProcStat } from './launcher-watch.js';

const GRACE_MS = 3000;
const PARENT_CHECK_MS = 500;

function startTime(pid: number): string | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).startTime;
  } catch {
    return undefined;
  }
}

function alive(pid: number, since: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return since === undefined || startTime(pid) === since;
}

const parentPid = Number(process.argv[2]);
const watched = new Map<number, string | undefined>();
let firing = false;

function fire(): void {
  if (firing) return;
  firing = true;
  const targets = [...watched].filter(([pid, since]) => alive(pid, since));
  for (const [pid] of targets) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + GRACE_MS;
  const sweep = (): void => {
    const left = targets.filter(([pid, since]) => alive(pid, since));
    if (left.length === 0) process.exit(0);
    if (Date.now() < deadline) {
      setTimeout(sweep, 100);
      return;
    }
    for (const [pid] of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(0);
  };
  sweep();
}

// The terminal's Ctrl-C is for the launcher, which stops the stack itself; this process outlives it.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

let partial = '';
process.stdin.on('data', (b: Buffer) => {
  partial += b.toString();
  const lines = partial.split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^([+-])(\d+)$/.exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    if (m[1] === '+') watched.set(pid, startTime(pid));
    else watched.delete(pid);
  }
});
process.stdin.on('end', fire);
process.stdin.on('error', fire);
setInterval(() => {
  if (Number.isInteger(parentPid) && parentPid > 0 && !alive(parentPid, undefined)) fire();
  else if (process.ppid !== parentPid) fire();
}, PARENT_CHECK_MS);
