// What every command shares: the settings, a logger on stderr, JSON output, number options.
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../config.js';
import { createLogger, logProcessWarnings } from '../logging.js';
import { foreignOwnerRefusal } from '../ops/private-files.js';
import { CommandFailed, EXIT_USAGE, UsageError } from './failure.js';

/** Logs of one-shot commands go to stderr: stdout carries their results, for people and scripts. */
export const stderrLogger = (level: string): Logger => createLogger(level, pino.destination({ fd: 2, sync: true }));

/** The validated settings (a ConfigError names the bad one), refusing a data dir another user owns. */
export function settings(): Config {
  const config = loadConfig();
  logProcessWarnings(stderrLogger(config.logLevel));
  const refusal = foreignOwnerRefusal(config.dataDir, process.argv.slice(2));
  if (refusal) throw new CommandFailed(refusal, EXIT_USAGE, true);
  return config;
}

/** One JSON document on stdout, for `--json`. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A whole number option within bounds, or a usage error naming it. */
export function wholeNumber(value: string | undefined, option: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${option} takes a whole number${min > 0 ? ` of at least ${min}` : ''}`);
  return n;
}

