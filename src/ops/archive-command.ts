// `imgd export <file>` and `imgd import <file>` on the command line ('-' for standard output / input).
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config.js';
import { appliedMigrations } from '../db/dump.js';
import { openDeployment } from '../cli/deployment.js';
import { CommandFailed, describeFailure, EXIT_FAILURE } from '../cli/failure.js';
import { SECRET_NAMES, type SecretName } from './archive-format.js';
import { exportDeployment } from './export.js';
import { importDeployment } from './import.js';
import { describeStorage } from './storage-command.js';

const MiB = 1024 * 1024;

const summarize = (rows: Readonly<Record<string, number>>): string =>
  Object.entries(rows)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} ${table}`)
    .join(', ') || 'no rows';

/** The failure with what it left: one line (the CLI writes it; a stack only with LOG_LEVEL=debug). */
function fail(err: unknown, suffix: string): never {
  throw new CommandFailed(`${describeFailure(err)}${suffix}`, EXIT_FAILURE, false, err);
}

/** The generated signing key travels with the data (sessions, share links and signed URLs stay valid); one from JWT_SECRET is the operator's to set. */
async function secretsToCarry(config: Config): Promise<Map<SecretName, Buffer>> {
  const found = new Map<SecretName, Buffer>();
  if (config.auth.jwtSecret) return found;
  for (const name of SECRET_NAMES) {
    const bytes = await readFile(path.join(config.dataDir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (bytes) found.set(name, bytes);
  }
  return found;
}

async function placeSecrets(config: Config, secrets: ReadonlyMap<SecretName, Buffer>): Promise<string> {
  if (secrets.size === 0) return '';
  if (config.auth.jwtSecret) return '; the archive\'s signing key was not used (JWT_SECRET is set here): sessions and share links from before need the old JWT_SECRET\n';
  for (const [name, bytes] of secrets) {
    const file = path.join(config.dataDir, name);
    await writeFile(file, bytes, { mode: 0o600 });
    await chmod(file, 0o600);
  }
  return '; the signing key came along: sessions and share links stay valid\n';
}

export async function exportCommand(config: Config, file: string): Promise<void> {
  const toStdout = file === '-';
  const say = (line: string): boolean => (toStdout ? process.stderr : process.stdout).write(line);
  const partial = `${file}.partial`;
  const { db, store, stagingDir, close } = await openDeployment(config, { needs: ['database', 'staging', 'store'] });
  try {
    // It holds the signing key and password hashes: the owner's alone, whatever the umask.
    const out: Writable = toStdout ? process.stdout : createWriteStream(partial, { mode: 0o600 });
    say(`exporting ${config.database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} metadata and blobs from ${describeStorage(config.storage)}\n`);
    const report = await exportDeployment({ db, store, database: config.database.kind, secrets: await secretsToCarry(config) }, out, stagingDir, say);
    // Only a finished archive gets the name asked for: a cut one never passes for whole.
    if (!toStdout) await rename(partial, file);
    say(`exported ${summarize(report.rows)}; ${report.originals} original(s) and ${report.variants} variant(s), ${(report.bytes / MiB).toFixed(1)} MiB of blobs${toStdout ? '' : ` to ${file}`}\n`);
  } catch (err) {
    if (!toStdout) await rm(partial, { force: true });
    fail(err, '; no archive was written');
  } finally {
    await close();
  }
}

export async function importCommand(config: Config, file: string): Promise<void> {
  // Before anything is opened: a wrong path must not leave an empty database behind.
  if (file !== '-') await access(file, constants.R_OK).catch((err: unknown) => fail(err, '; nothing was restored'));
  const { db, store, stagingDir, close } = await openDeployment(config, { needs: ['database', 'staging', 'store'] });
  try {
    const input: Readable = file === '-' ? process.stdin : createReadStream(file);
    const report = await importDeployment({ db, store, migrations: await appliedMigrations(db) }, input, stagingDir);
    const secrets = await placeSecrets(config, report.secrets);
    process.stdout.write(`imported ${summarize(report.rows)} and ${report.blobs} blob(s) into ${describeStorage(config.storage)}${secrets || '\n'}`);
  } catch (err) {
    fail(err, '; nothing was restored');
  } finally {
    await close();
  }
}
