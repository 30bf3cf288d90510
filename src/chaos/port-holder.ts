import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** One listening socket from /proc/net/tcp or /proc/net/tcp6. */
export interface ProcListener {
  port: number;
  inode: number;
}

const TCP_LISTEN = '0A';

/** Listening sockets in the text of /proc/net/tcp or /proc/net/tcp6 (pure). */
export function parseProcNetTcp(text: string): ProcListener[] {
  const out: ProcListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const portHex = f[1].split(':').pop() ?? '';
    const port = Number.parseInt(portHex, 16);
    const inode = Number(f[9]);
    if (Number.isInteger(port) && Number.isInteger(inode) && inode > 0) out.push({ port, inode });
  }
  return out;
}

/** The pid and command of an `ss -ltnp` line listening on `port` (pure), e.g. users:(("redis-server",pid=12,fd=6)). */
export function parseSsListeners(text: string, port: number): { pid: number; command: string } | undefined {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const local = f[3];
    if (!local || !local.endsWith(`:${port}`)) continue;
    const m = /\(\("([^"]*)",pid=(\d+)/.exec(line);
    if (m) return { pid: Number(m[2]), command: m[1] };
  }
  return undefined;
}

export interface PortHolder {
  pid?: number;
  command?: string;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string | undefined {
  const raw = readText(`/proc/${pid}/cmdline`);
  if (!raw) return undefined;
  const cmd = raw.split('\0').filter((s) => s !== '').join(' ');
  return cmd.length > 160 ? `${cmd.slice(0, 157)}…` : cmd;
}

/** Who listens on a TCP port: /proc (Linux), else `ss -ltnp`; undefined fields when the owner is not visible. */
export function findPortHolder(port: number): PortHolder {
  const inodes = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = readText(file);
    if (text) for (const l of parseProcNetTcp(text)) if (l.port === port) inodes.add(l.inode);
  }
  if (inodes.size > 0) {
    let pids: string[] = [];
    try {
      pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
    } catch {
      pids = [];
    }
    for (const pid of pids) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(Number(m[1]))) return { pid: Number(pid), command: commandOf(Number(pid)) };
      }
    }
  }
  const ss = spawnSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  if (ss.status === 0 && ss.stdout) {
    const hit = parseSsListeners(ss.stdout, port);
    if (hit) return { pid: hit.pid, command: commandOf(hit.pid) ?? hit.command };
  }
  return {};
}

/** One line naming a busy port, what it was for and what holds it (pure). */
export function busyPortMessage(port: number, purpose: string, holder: PortHolder): string {
  const who =
    holder.pid !== undefined
      ? `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`
      : 'a process this user cannot see (try `ss -ltnp` as root)';
  return `port ${port} (${purpose}) is already in use by ${who}`;
}

/** Whether a TCP port on host can be bound now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
