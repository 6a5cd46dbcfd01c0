// `imgd migrate-storage`: moves the blobs between the configured store and the other kind, printing progress and a summary.
import { openDeployment } from '../cli/deployment.js';
import { ConfigError, storageAs, type Config } from '../config.js';
import { migrateStorage, type MigrationProgress } from './migrate-storage.js';

export interface MigrateStorageFlags {
  readonly to: Config['storage']['kind'];
  readonly concurrency: string;
  readonly verifyExisting?: boolean;
}

const MiB = 1024 * 1024;

export function describeStorage(storage: Config['storage']): string {
  if (storage.kind === 'fs') return `disk (${storage.dir})`;
  const at = storage.endpoint ? ` at ${storage.endpoint}` : '';
  return `S3 (s3://${storage.bucket}/${storage.prefix ?? ''}${at})`;
}

function fail(message: string, code: number): never {
  process.stderr.write(`imgd migrate-storage: ${message}\n`);
  process.exit(code);
}

function targetSettings(config: Config, to: Config['storage']['kind']): Config['storage'] {
  if (config.storage.kind === to) {
    fail(`the blobs are already on ${to} (STORAGE=${to}): run it with the settings of the store they are in now, and --to the other one`, 2);
  }
  try {
    return storageAs(to);
  } catch (err) {
    if (err instanceof ConfigError) fail(`the target store is not configured: ${err.message}`, 2);
    throw err;
  }
}

const line = (p: MigrationProgress): string =>
  `progress: ${p.seen} blob(s) seen, ${p.copied} copied (${(p.bytes / MiB).toFixed(1)} MiB), ${p.skipped} already there\n`;

export async function migrateStorageCommand(config: Config, flags: MigrateStorageFlags): Promise<void> {
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) fail('--concurrency takes a whole number from 1 to 64', 2);
  const targetConfig = targetSettings(config, flags.to);
  const { store: source } = await openDeployment(config, { needs: ['store'] });
  const { store: target } = await openDeployment({ ...config, storage: targetConfig }, { needs: ['store'] });
  for (const [side, store] of [['source', source], ['target', target]] as const) {
    await store.check().catch((err: unknown) => fail(`the ${side} store cannot be used: ${(err as Error).message}`, 1));
  }
  process.stdout.write(`copying every blob from ${describeStorage(config.storage)} to ${describeStorage(targetConfig)}\n`);
  const report = await migrateStorage(source, target, {
    concurrency,
    verifyExisting: Boolean(flags.verifyExisting),
    onProgress: (p) => process.stdout.write(line(p)),
    onProblem: (p) => process.stderr.write(`${p.kind === 'mismatch' ? 'MISMATCH' : 'FAILED'} ${p.message}\n`),
  });
  process.stdout.write(
    `summary: ${report.seen} blob(s): ${report.copied} copied (${(report.bytes / MiB).toFixed(1)} MiB, ${report.replaced} replacing a different size), ` +
      `${report.skipped} already in the target, ${report.verified} original(s) checked by SHA-256, ${report.problems.length} problem(s)\n`,
  );
  if (report.problems.length > 0) {
    fail(`${report.problems.length} blob(s) were not copied (listed above); repair or restore them and run it again: what is done is kept`, 1);
  }
  process.stdout.write(`every blob is in ${describeStorage(targetConfig)}: set STORAGE=${flags.to} and restart imgd\n`);
}
