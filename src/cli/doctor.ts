// `imgd doctor`: one line per check of the installation, and an exit status of 1 naming what failed.
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { checkNode, runChecks, type CheckResult } from '../ops/doctor-checks.js';
import { printJson, settings } from './context.js';
import { CommandFailed, describeFailure } from './failure.js';

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

function print(result: CheckResult): void {
  process.stdout.write(`${MARK[result.status]}  ${result.name}: ${result.detail}\n`);
  for (const line of result.problems ?? []) process.stdout.write(`        ${line}\n`);
}

async function doctor(options: { json?: boolean }): Promise<void> {
  const results: CheckResult[] = [checkNode()];
  let config: Config | undefined;
  try {
    config = settings();
    results.push({ name: 'config', status: 'ok', detail: 'every setting is valid' });
  } catch (err) {
    results.push({ name: 'config', status: 'fail', detail: describeFailure(err) });
  }
  if (!options.json) results.forEach(print);
  if (config) {
    for (const result of await runChecks(config)) {
      results.push(result);
      if (!options.json) print(result);
    }
  }
  const failed = results.filter((r) => r.status === 'fail').map((r) => r.name);
  if (options.json) printJson({ ok: failed.length === 0, checks: results });
  if (failed.length > 0) throw new CommandFailed(`${failed.length} check(s) failed: ${failed.join(', ')}`);
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .summary('check the installation, one line per check; exit 1 if any fails')
    .description(
      'check the installation, one line per check: Node, the settings, the data dir (writable, private file modes), ' +
        'secrets, the database (reachable, schema current), the store (disk or S3), Redis if set, and image formats; exit 1 if any fails',
    )
    .option('--json', 'print the checks as JSON')
    .action(doctor);
}
