// imgd's CLI as child processes for the tests (src/cli.ts through tsx, so they run the code as it is now).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = ['--import', 'tsx', 'src/cli.ts'];
/** Generous: tsx compiles the whole app on every start. A broken server fails the test, it does not hang it. */
export const START_TIMEOUT_MS = 90_000;
export const EXIT_TIMEOUT_MS = 30_000;
/** Every child started here, killed when the test file is done if still running. */
const children = new Set<ChildProcess>();

after(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** Only what a child needs, so settings of the machine running the tests (AUTH_TOKEN, CONFIG_FILE, …) cannot leak in. */
export function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return { ...env, LOG_LEVEL: 'info', ...settings };
}

/** Rejects after ms with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of pattern in stdout; rejects if the process exits first or on timeout. */
  waitForStdout(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
}

const quoted = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Starts the CLI; `input`, if any, is its whole standard input. With `terminal`, it runs under util-linux `script`,
 * whose pseudo-terminal is its stdout (as for a person running `npm start`), in a process group of its own.
 */
export function spawnCli(args: readonly string[], env: Record<string, string>, input?: string, terminal = false): Proc {
  const child = terminal
    ? spawn('script', ['-qfec', [process.execPath, ...CLI, ...args].map(quoted).join(' '), '/dev/null'], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: childEnv(env), stdio: 'pipe' });
  children.add(child);
  // A command that exits before reading its input closes the pipe: that is its answer, not the test's failure.
  // (At a terminal there is none: `script` would end the session at the end of its input.)
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(input ?? '');
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    waitForStdout(pattern, what, timeoutMs = START_TIMEOUT_MS) {
      const found = new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(out);
          if (match) {
            child.stdout!.off('data', check);
            resolve(match);
          }
        };
        child.stdout!.on('data', check);
        check();
        void exited.then(() => {
          check();
          reject(new Error(`the process exited before printing ${what}\nstdout:\n${out}\nstderr:\n${err}`));
        });
      });
      return within(found, timeoutMs, `${what}\nstdout so far:\n${out}\nstderr so far:\n${err}`);
    },
  };
}

/**
 * Runs a CLI command to its end. Asynchronous on purpose: an app under test in this process keeps
 * serving (and finishing its own database work) while the command runs beside it, as it would in use.
 */
export async function runCli(args: readonly string[], env: Record<string, string>, input?: string): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnCli(args, env, input);
  const exit = await within(proc.exited, START_TIMEOUT_MS, `imgd ${args.join(' ')} to exit`).catch((err: unknown) => {
    proc.child.kill('SIGKILL');
    throw err;
  });
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr() };
}

export interface Server extends Proc {
  readonly url: string;
  readonly port: number;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/**
 * `imgd serve` on a free port; resolves once it says where it listens: one JSON log line when its stdout is a pipe,
 * the banner (to its `upload` line) at a `terminal`.
 */
export async function startServer(dataDir: string, settings: Record<string, string>, terminal = false): Promise<Server> {
  const port = await freePort();
  const proc = spawnCli(['serve'], { DATA_DIR: dataDir, PORT: String(port), ...settings }, undefined, terminal);
  const match = terminal
    ? await proc.waitForStdout(/imgd is listening on (\S+)\r?\n(?:.*\r?\n)*? {2}upload .*\r?\n/, 'the "imgd is listening on" banner')
    : await proc.waitForStdout(/"msg":"imgd is listening on ([^"]+)"\}\n/, 'the "imgd is listening on" log line');
  return {
    ...proc,
    url: match[1]!,
    port,
    async stop(signal = 'SIGTERM') {
      // At a terminal the whole group: `script` and the server under it.
      if (terminal) process.kill(-proc.child.pid!, signal);
      else proc.child.kill(signal);
      return within(proc.exited, EXIT_TIMEOUT_MS, `the server to exit after ${signal}`);
    },
  };
}

