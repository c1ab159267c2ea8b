// WORKERS=N node bench/peers/cluster.mjs <server.js>: N processes of one server script sharing
// its port (PORT, HOST, BACKLOG are passed through), for bench/c10k.ts. Where Node has
// SO_REUSEPORT in listen() (22.12+ / 23.1+) the scripts run as N independent processes with
// REUSEPORT=1 and the kernel spreads connections; on older Node the cluster module shares one
// listening socket, with its default round-robin scheduling: the primary accepts and hands each
// connection to the next worker, so every worker gets the same number (which matters when each
// may hold at most RLIMIT_NOFILE sockets). CLUSTER_MODE=cluster forces the cluster module.
// CLUSTER_SCHED=none makes the cluster module share the listening socket instead: every worker
// accepts for itself and the primary holds no connections (see bench/README.md, C10K, for when
// each is the right one under a file limit).
// Prints "cluster ready: N workers" once every worker listens; exits when a worker dies.
import cluster from 'node:cluster';
import { fork } from 'node:child_process';

const script = process.argv[2];
const n = Number(process.env.WORKERS ?? 2);
const [major, minor] = process.versions.node.split('.').map(Number);
const reusePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
const mode = process.env.CLUSTER_MODE ?? (reusePort ? 'reuseport' : 'cluster');

if (script === undefined || !(n >= 1)) {
  console.error('usage: WORKERS=N node bench/peers/cluster.mjs <server.js>');
  process.exit(2);
}

const children = [];
let listening = 0;
let stopping = false;
const ready = () => {
  const sched =
    mode === 'cluster'
      ? process.env.CLUSTER_SCHED === 'none'
        ? ', shared socket'
        : ', round-robin'
      : '';
  if (++listening === n) console.log(`cluster ready: ${n} workers (${mode}${sched})`);
};
const died = (code, signal) => {
  if (stopping) return;
  console.error(`cluster: a worker exited (${signal ?? code}); stopping`);
  stopAll(1);
};
function stopAll(code) {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  let left = children.length;
  for (const c of children) c.once('exit', () => --left === 0 && process.exit(code));
}

if (mode === 'cluster') {
  if (process.env.CLUSTER_SCHED === 'none') cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: script, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  for (let i = 0; i < n; i++) {
    const w = cluster.fork();
    children.push(w.process);
    w.once('listening', ready);
    w.once('exit', died);
  }
} else {
  for (let i = 0; i < n; i++) {
    const c = fork(script, [], {
      env: { ...process.env, REUSEPORT: '1' },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.push(c);
    let seen = false;
    c.stdout.on('data', (d) => {
      process.stdout.write(d);
      if (!seen && /listening/.test(d.toString())) {
        seen = true;
        ready();
      }
    });
    c.once('exit', died);
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stopAll(0));
