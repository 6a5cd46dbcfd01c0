// The benchmark runner: `npm run bench [-- --quick] [-- --only S3,S5]`. Prints one table, writes JSON to bench/results/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBuild } from './lib/imgd.js';
import { loadTool } from './lib/load.js';
import { nginxMissing } from './lib/nginx.js';
import { parseOptions } from './lib/options.js';
import { pinCores } from './lib/procs.js';
import { table, writeJson } from './lib/report.js';
import type { Row, Scenario, ScenarioContext } from './lib/scenario.js';
import { SCENARIOS } from './scenarios/index.js';

const options = parseOptions(process.argv.slice(2));
requireBuild();
// Read before pinning: once this process is pinned to one core, Node reports one.
const cpus = os.availableParallelism();
const pin = pinCores();
const resultsDir = path.resolve(import.meta.dirname, 'results');
const profileRoot = options.profile ? path.join(resultsDir, 'profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
const chosen: Scenario[] = SCENARIOS.filter((s) => !options.only || options.only.has(s.id));
if (options.only) {
  const unknown = [...options.only].filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
}

const log = (message: string): void => {
  process.stdout.write(`${message}\n`);
};

const machine = {
  cpus,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  loadAverage: os.loadavg(),
};
const repeats = options.quick ? 1 : 3;
const seconds = options.quick ? 3 : 10;
const warmupSeconds = options.quick ? 1 : 5;

log(`imgd benchmarks (${options.quick ? 'quick: 1 measured run per contender, short runs' : `full: ${repeats} measured runs per contender`})`);
log(`machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
log(`pinning: ${pin.note}; load generator: ${loadTool()}; imgd: built dist/cli.js, started as \`npm start\` starts it (MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=1048576), LOG_LEVEL=warn`);
const nginxNote = nginxMissing();
if (nginxNote) log(nginxNote);

const rows: Row[] = [];
const report: Record<string, unknown> = {};
const started = Date.now();
for (const scenario of chosen) {
  log(`\n${scenario.id}: ${scenario.title}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), `imgd-bench-${scenario.id.toLowerCase()}-`));
  const profileDir = profileRoot && path.join(profileRoot, scenario.id);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx: ScenarioContext = { options, pin, tmp, repeats, seconds, warmupSeconds, profileDir, log };
  const t0 = Date.now();
  try {
    const result = await scenario.run(ctx);
    rows.push(...result.rows);
    for (const note of result.notes) log(`  note: ${note}`);
    report[scenario.id] = { title: scenario.title, seconds: (Date.now() - t0) / 1000, rows: result.rows, notes: result.notes, raw: result.raw };
  } catch (err) {
    log(`  FAILED: ${(err as Error).stack ?? String(err)}`);
    report[scenario.id] = { title: scenario.title, error: String(err) };
    process.exitCode = 1;
  } finally {
    if (!options.keep) rmSync(tmp, { recursive: true, force: true });
    else log(`  kept ${tmp}`);
  }
}

log(`\n${table(rows)}\n`);
const file = writeJson(resultsDir, {
  date: new Date().toISOString(),
  mode: options.quick ? 'quick' : 'full',
  repeats,
  repeatsNote: options.quick ? 'quick mode: one measured run per contender after a warm-up; min = max = median' : undefined,
  secondsPerRun: seconds,
  machine,
  pinning: pin.note,
  loadTool: loadTool(),
  nginx: nginxNote ?? 'present',
  elapsedSeconds: (Date.now() - started) / 1000,
  scenarios: report,
});
log(`raw figures: ${path.relative(process.cwd(), file)}${profileRoot ? `; CPU profiles: ${path.relative(process.cwd(), profileRoot)}` : ''}`);
log(`elapsed ${((Date.now() - started) / 1000).toFixed(0)} s`);
