/**
 * Processes for the bench: starting a server pinned to a core, asking whether it answers, reading
 * how much CPU a process tree used (from /proc, so it costs the measured processes nothing), and
 * stopping it again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

/** Clock ticks per second for /proc/<pid>/stat times (sysconf(_SC_CLK_TCK); 100 on Linux). */
export const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number.parseInt(r.stdout ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** Whether a command exists on $PATH. */
export function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** stdout+stderr of a command, trimmed ("" when it cannot run). */
export function capture(command: string, args: string[], cwd?: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8', cwd, timeout: 20_000 });
  if (r.error) return '';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

/** utime + stime of one process in clock ticks, or -1 when it is gone. */
function ticksOf(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return -1;
  }
  // Field 2 (comm) may contain spaces and parentheses; the rest starts after the last ")".
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (14) and stime (15) are rest[11] and rest[12].
  return Number(rest[11]) + Number(rest[12]);
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** pid and all its descendants (nginx's master and worker, a wrapper's child...). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid < 0) continue;
    let list = children.get(ppid);
    if (list === undefined) children.set(ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** CPU ticks of a set of processes (gone ones count 0). */
export function cpuTicks(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const t = ticksOf(pid);
    if (t > 0) sum += t;
  }
  return sum;
}

/** A free TCP port on host (bound and released; the tiny race is acceptable for a bench). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Running {
  child: ChildProcess;
  pid: number;
  /** The last output lines, for the error message when it fails to come up. */
  output(): string;
  exited: boolean;
}

/** Start `command args` pinned to `cpu` with taskset (which execs, so the pid is the server's). */
export function startPinned(
  cpu: string,
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Running {
  const child = spawn('taskset', ['-c', cpu, command, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const running: Running = {
    child,
    pid: child.pid ?? -1,
    output: () => tail,
    exited: false,
  };
  child.on('exit', () => {
    running.exited = true;
  });
  child.on('error', (err) => {
    running.exited = true;
    tail += `\n${err.message}`;
  });
  return running;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stop(r: Running, graceMs = 3000): Promise<void> {
  if (r.exited) return;
  const done = new Promise<void>((resolve) => r.child.once('exit', () => resolve()));
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!r.exited) r.child.kill('SIGKILL');
  }, graceMs);
  await done;
  clearTimeout(timer);
}

export interface Probe {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Whether the server closed the connection (within 300 ms of the complete response). */
  closedByServer: boolean;
}

/**
 * One HTTP/1.1 GET with "Connection: close" over a fresh socket, written by hand so the check
 * depends on nothing but node:net. The response is complete at Content-Length (or at the close,
 * without one); then it waits briefly to see whether the server closes, as it must for a "close"
 * request (RFC 9112 §9.6). Enough for the small, length-framed responses of the bench routes.
 */
export function probe(host: string, port: number, path: string, timeoutMs = 2000): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const chunks: Buffer[] = [];
    let result: Omit<Probe, 'closedByServer'> | null = null;
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result === null) reject(new Error('no complete response'));
      else resolve({ ...result, closedByServer: closed });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error('timed out'));
    }, timeoutMs);
    const parse = (atClose: boolean): void => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = all.subarray(end + 4);
      const length = Number(headers['content-length']);
      if (Number.isInteger(length) && body.length >= length) {
        result = { status, headers, body: body.subarray(0, length) };
      } else if (atClose) {
        result = { status, headers, body };
      }
    };
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (d) => {
      chunks.push(d);
      if (result !== null) return;
      parse(false);
      if (result !== null) setTimeout(() => finish(false), 300);
    });
    socket.on('end', () => {
      if (result === null) parse(true);
      finish(true);
    });
    socket.on('error', (err) => {
      if (result !== null) finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
  });
}

/** Poll `path` until it answers (any status) or `timeoutMs` passes. */
export async function waitUntilUp(
  r: Running,
  host: string,
  port: number,
  path: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (r.exited) throw new Error(`exited before answering:\n${r.output()}`);
    try {
      await probe(host, port, path, 1000);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no answer on ${host}:${port}${path} after ${timeoutMs} ms (${last})`);
}

/**
 * CPU ticks of every user-space process on the machine, by pid (one pass over /proc). Kernel
 * threads are left out: ksoftirqd and kworkers do the loopback traffic's work on the bench's behalf.
 */
export function snapshotTicks(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === 2) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue;
    }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[1]) === 2) continue; // child of kthreadd: a kernel thread
    out.set(pid, Number(rest[11]) + Number(rest[12]));
  }
  return out;
}

/**
 * CPU ticks used between two snapshots by processes not in `ours`: other people's compilers and
 * test runs on a shared machine. Processes born during the window count in full; ones that died
 * in it are missed (so this underestimates, never blames the servers).
 */
export function foreignTicks(
  before: Map<number, number>,
  after: Map<number, number>,
  ours: ReadonlySet<number>,
): number {
  let sum = 0;
  for (const [pid, t] of after) {
    if (ours.has(pid)) continue;
    const d = t - (before.get(pid) ?? 0);
    if (d > 0) sum += d;
  }
  return sum;
}

/**
 * Per-CPU time from /proc/stat in clock ticks: `busy` is user + nice + system + irq + softirq,
 * `steal` the time the hypervisor gave this virtual CPU to someone else.
 */
export function cpuStat(): { busy: number; steal: number }[] {
  return readFileSync('/proc/stat', 'latin1')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const f = l.split(/\s+/).slice(1).map(Number);
      return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, steal: f[7] ?? 0 };
    });
}
