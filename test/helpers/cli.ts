// Assertions on how a CLI command ended: its exit status, one line on stderr, no stack trace.
import assert from 'node:assert/strict';
import { startApp, TOKEN, type TestApp } from './app.js';
import { runCli } from './processes.js';

export type CliRun = Awaited<ReturnType<typeof runCli>>;

const STACK_FRAME = /\n\s+at /;

/** Exit `code`, nothing on stdout, and exactly one line on stderr matching `line`, with no stack frame. */
export function assertOneLineFailure(run: CliRun, code: number, line: RegExp): void {
  const shown = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
  assert.equal(run.code, code, shown);
  assert.equal(run.stdout, '', shown);
  assert.ok(run.stderr.endsWith('\n'), shown);
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, shown);
  assert.doesNotMatch(run.stderr, STACK_FRAME, shown);
  assert.match(run.stderr.trimEnd(), line, shown);
}

/** stderr holds log lines only (JSON, as LOG_LEVEL=info asks of the test's children): no progress, no results. */
export function assertOnlyLogLines(stderr: string): void {
  for (const line of stderr.split('\n').filter(Boolean)) {
    let entry: { level?: unknown } | undefined;
    assert.doesNotThrow(() => (entry = JSON.parse(line) as { level?: unknown }), `not a log line on stderr: ${line}`);
    assert.equal(typeof entry?.level, 'number', line);
  }
}

/** A service's failed start under a pipe: one fatal JSON log line on stderr whose message matches, and no stack. */
export function assertOneFatalLogLine(run: CliRun, code: number, message: RegExp): void {
  const shown = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
  assert.equal(run.code, code, shown);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, shown);
  const entry = JSON.parse(lines[0]!) as { level: number; msg: string; stack?: string };
  assert.equal(entry.level, 60, shown);
  assert.match(entry.msg, message, shown);
  assert.equal(entry.stack, undefined, shown);
  assert.doesNotMatch(run.stderr, STACK_FRAME, shown);
}

export { STACK_FRAME };

/** The environment a CLI command needs to act on a test app's deployment: its settings, data dir and the admin token. */
export const cliEnv = (t: TestApp): Record<string, string> => ({ ...t.settings, DATA_DIR: t.dataDir, AUTH_TOKEN: TOKEN });

/** A running app (settings as startApp takes them) and the CLI's environment for it. */
export async function cliDeployment(settings: Record<string, string> = {}): Promise<{ t: TestApp; env: Record<string, string> }> {
  const t = await startApp(settings);
  return { t, env: cliEnv(t) };
}
