#!/usr/bin/env node
/* global process, console */
// npm test: the whole suite in both configurations, one after the other: "embedded" (SQLite, disk,
// in-process jobs) and "scale" (PostgreSQL, Redis with BullMQ, S3 on s3rver; see test/helpers/scale.ts).
//   node scripts/test.mjs                          both profiles, every test file
//   node scripts/test.mjs --profile scale [files]  one profile, some files
// Without PostgreSQL or Redis the scale run is skipped with a message naming what is missing; with CI=true it fails.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROFILES = ['embedded', 'scale'];

const args = process.argv.slice(2);
let profiles = PROFILES;
const at = args.indexOf('--profile');
if (at !== -1) {
  profiles = [args[at + 1]];
  args.splice(at, 2);
  if (!PROFILES.includes(profiles[0])) {
    console.error(`test: --profile takes ${PROFILES.join(' or ')}`);
    process.exit(2);
  }
}

function allTestFiles() {
  const files = [];
  for (const dir of readdirSync(path.join(ROOT, 'test'), { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const name of readdirSync(path.join(ROOT, 'test', dir.name))) {
      if (name.endsWith('.test.ts')) files.push(path.join('test', dir.name, name));
    }
  }
  return files.sort();
}

const files = args.length > 0 ? args : allTestFiles();
const runId = `r${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

function run(command, commandArgs, env) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Runs a snippet with the test helpers loaded (they are TypeScript), returning its stdout. */
function helper(snippet, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', snippet], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`test helper exited with ${code}`))));
  });
}

const banner = (text) => console.log(`\n${'='.repeat(100)}\n${text}\n${'='.repeat(100)}`);

const results = [];
for (const profile of profiles) {
  if (profile === 'scale') {
    const missing = JSON.parse(
      await helper(`import { missingServices } from './test/helpers/scale.ts'; console.log(JSON.stringify(await missingServices()));`),
    );
    if (missing.length > 0) {
      const what = missing.map((m) => `  - ${m}`).join('\n');
      if (process.env.CI === 'true') {
        banner(`test: the scale profile needs services that are not there, and CI=true makes that a failure:\n${what}`);
        results.push({ profile, code: 1, seconds: 0, note: 'services missing' });
        continue;
      }
      banner(`test: SKIPPING the scale profile (PostgreSQL + Redis + S3): these services are not reachable:\n${what}\n` +
        'Start them (see "How the tests run" in the README) or set IMGD_TEST_POSTGRES_URL / IMGD_TEST_REDIS_URL.');
      results.push({ profile, code: 0, seconds: 0, note: 'skipped: services missing' });
      continue;
    }
  }
  banner(`test: profile ${profile} (${files.length} files)`);
  const started = Date.now();
  const env = { IMGD_TEST_PROFILE: profile, IMGD_TEST_RUN: runId };
  const code = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], env);
  const seconds = Math.round((Date.now() - started) / 1000);
  if (profile === 'scale') {
    // Whatever a crashed or killed test left behind in this run: databases and Redis keys carry the run id.
    await helper(`import { dropRunLeftovers } from './test/helpers/scale.ts'; await dropRunLeftovers();`, env).catch((err) =>
      console.error(`test: could not clean up after the scale run: ${err.message}`),
    );
  }
  results.push({ profile, code, seconds });
}

banner(results.map((r) => `test: ${r.profile.padEnd(8)} ${r.code === 0 ? 'passed' : 'FAILED'} in ${r.seconds} s${r.note ? ` (${r.note})` : ''}`).join('\n'));
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
