// Child processes of the benchmark: pinned to the server core with taskset, awaited over HTTP, sampled for RSS.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Pinning {
  /** Cores (taskset lists) for the load generator and for the server under test, or undefined when not pinned. */
  readonly generator: string | undefined;
  readonly server: string | undefined;
  readonly note: string;
}

const hasCommand = (name: string): boolean => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

/** Pins this process (and so the in-process load generators) to core 0 and leaves the others to servers. */
export function pinCores(): Pinning {
  const cores = os.availableParallelism();
  if (cores < 2 || process.platform !== 'linux' || !hasCommand('taskset')) {
    return { generator: undefined, server: undefined, note: `not pinned (${cores} core(s), taskset ${hasCommand('taskset') ? 'present' : 'missing'})` };
  }
  const server = cores === 2 ? '1' : `1-${cores - 1}`;
  const pinned = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }).status === 0;
  if (!pinned) return { generator: undefined, server: undefined, note: 'not pinned (taskset -p failed)' };
  return { generator: '0', server, note: `load generators pinned to core 0, servers and peers to core(s) ${server} (taskset)` };
}

export function commandExists(name: string): boolean {
  return hasCommand(name);
}

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly name: string;
  /** What the process wrote to stderr and stdout (the last 64 KB), for error reports. */
  output(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** taskset core list; undefined runs unpinned. */
  readonly cores?: string | undefined;
}

const live = new Set<number>();
/** Children run in their own process groups: make sure none outlives the runner, however it ends. */
function killAll(): void {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

export function spawnPinned(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Child {
  const [cmd, argv] = options.cores ? ['taskset', ['-c', options.cores, command, ...args]] : [command, [...args]];
  const proc = spawn(cmd, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stopping it also stops what it started (npm start runs sh, which runs node).
    detached: true,
  });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-65536);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = proc.pid;
  live.add(pid);
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      resolve();
    }),
  );
  return {
    proc,
    pid: proc.pid,
    name,
    output: () => log,
    async stop() {
      const group = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-proc.pid!, signal);
        } catch {
          // the group is gone already
        }
      };
      if (proc.exitCode !== null || proc.signalCode !== null) {
        group('SIGTERM');
        live.delete(pid);
        return;
      }
      group('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
      if (timedOut) {
        group('SIGKILL');
        await exited;
      }
      live.delete(pid);
    },
  };
}

/** Resolves when url answers 2xx, with the time it took; fails if the child exits or time runs out. */
export async function waitForHttp(url: string, child: Child | undefined, timeoutMs = 60_000, intervalMs = 25): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
      throw new Error(`${child.name} exited before answering ${url}:\n${child.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs) throw new Error(`no answer from ${url} within ${timeoutMs} ms${child ? `:\n${child.output()}` : ''}`);
    await sleep(intervalMs);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resident set size of a process in bytes (Linux /proc), or NaN elsewhere. */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Samples RSS every interval until stopped; reports the samples. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    const rss = rssOf(pid);
    if (Number.isFinite(rss)) samples.push(rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

/** CPU time (user + system) a process has used, in seconds (Linux /proc), or NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits until a process has settled after start-up: less than 5 % of a core used over half a second (or timeoutMs).
 * A server answering /healthz may still be loading modules and starting worker threads in the background.
 */
export async function waitForQuiet(pid: number, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  let last = cpuSeconds(pid);
  while (performance.now() - started < timeoutMs) {
    await sleep(500);
    const now = cpuSeconds(pid);
    if (!Number.isFinite(now) || now - last < 0.025) break;
    last = now;
  }
  return performance.now() - started;
}
