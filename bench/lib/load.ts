// Load generation: wrk (pinned to the generator core) when installed, autocannon in this process otherwise.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { commandExists } from './procs.js';

export interface LoadSpec {
  readonly baseUrl: string;
  /** One path, or several picked at random per request. */
  readonly paths: readonly string[];
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  /** A file whose bytes are every request's body. */
  readonly bodyFile?: string;
  readonly connections: number;
  readonly seconds: number;
  /** Where wrk's Lua scripts and path lists may be written. */
  readonly scratchDir: string;
  readonly generatorCores: string | undefined;
}

export interface LoadResult {
  readonly tool: 'wrk' | 'autocannon';
  readonly requests: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Responses outside 2xx/3xx plus socket errors and timeouts. */
  readonly errors: number;
  readonly bytesPerSecond: number;
}

const useWrk = commandExists('wrk');

export function loadTool(): string {
  return useWrk ? 'wrk' : 'autocannon (wrk not installed)';
}

const luaString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function wrkScript(spec: LoadSpec): string | undefined {
  const lines: string[] = [];
  if (spec.method && spec.method !== 'GET') lines.push(`wrk.method = ${luaString(spec.method)}`);
  for (const [name, value] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  if (spec.bodyFile) lines.push(`local f = assert(io.open(${luaString(spec.bodyFile)}, "rb"))`, 'wrk.body = f:read("*a")', 'f:close()');
  if (spec.paths.length > 1) {
    const list = path.join(spec.scratchDir, `paths-${process.hrtime.bigint()}.txt`);
    writeFileSync(list, `${spec.paths.join('\n')}\n`);
    lines.push(
      'local paths = {}',
      `for line in io.lines(${luaString(list)}) do paths[#paths + 1] = line end`,
      'math.randomseed(os.time())',
      'request = function() return wrk.format(nil, paths[math.random(#paths)]) end',
    );
  }
  if (lines.length === 0) return undefined;
  const file = path.join(spec.scratchDir, `wrk-${process.hrtime.bigint()}.lua`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkLatency(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) * MS[m[2]!]! : Number.NaN;
}

function wrkBytes(text: string): number {
  const m = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(text);
  const unit: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
  return m ? Number(m[1]) * unit[m[2]!]! : Number.NaN;
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const script = wrkScript(spec);
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--latency', '--timeout', '30s'];
  if (script) args.push('-s', script);
  args.push(`${spec.baseUrl}${spec.paths[0]}`);
  const [cmd, argv] = spec.generatorCores ? ['taskset', ['-c', spec.generatorCores, 'wrk', ...args]] : ['wrk', args];
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}:\n${out}`))));
  });
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    tool: 'wrk',
    requests,
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? Number.NaN),
    p50Ms: wrkLatency(text, '50%'),
    p99Ms: wrkLatency(text, '99%'),
    errors: non2xx + socketErrors,
    bytesPerSecond: wrkBytes(text),
  };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const body = spec.bodyFile ? readFileSync(spec.bodyFile) : undefined;
  const pick = (): string => spec.paths[Math.floor(Math.random() * spec.paths.length)]!;
  const result = await autocannon({
    url: spec.baseUrl,
    connections: spec.connections,
    duration: spec.seconds,
    method: spec.method ?? 'GET',
    headers: { ...spec.headers },
    ...(body && { body }),
    timeout: 30,
    requests: [{ setupRequest: (req) => ({ ...req, path: pick() }) }],
  });
  const seconds = result.duration || spec.seconds;
  return {
    tool: 'autocannon',
    requests: result.requests.total,
    perSecond: result.requests.total / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    bytesPerSecond: result.throughput.total / seconds,
  };
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return useWrk ? runWrk(spec) : runAutocannon(spec);
}
