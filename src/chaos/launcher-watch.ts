import { readFileSync } from 'node:fs';

/** Parent pid and start time from the text of /proc/<pid>/stat (pure). */
export function parseProcStat(text: string): { ppid: number; startTime: string; cpuTicks: number } {
  // The command (field 2) may hold spaces and parentheses; the fields after it start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), startTime: f[19], cpuTicks: Number(f[11]) + Number(f[12]) };
}

/** User + system CPU a process has used so far, ms (USER_HZ is 100 on Linux); undefined once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const s = stat(pid);
  return s === undefined ? undefined : s.cpuTicks * 10;
}

function stat(pid: number): ReturnType<typeof parseProcStat> | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * When run by `npx` / `npm exec`, the npm process the user signals: npm exits on SIGTERM without passing
 * it on, which would leave this process (under an intermediate `sh`) running with no one to stop it.
 * Returns a check that is true once that npm process is gone; undefined when not run by npm (a user's
 * `nohup btcpipe up &` must outlive its shell).
 */
export function npmLauncherGone(env: NodeJS.ProcessEnv = process.env): (() => boolean) | undefined {
  if (env.npm_command !== 'exec') return undefined;
  let pid = process.ppid;
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    const s = stat(pid);
    if (!s) return undefined;
    if (/^npm( |$)|npm-cli\.js|npx-cli\.js/.test(cmdline(pid))) {
      const launcher = pid;
      const since = s.startTime;
      return () => stat(launcher)?.startTime !== since;
    }
    pid = s.ppid;
  }
  return undefined;
}
