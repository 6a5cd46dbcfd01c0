// `imgd migrate`, `imgd gc`, `imgd migrate-storage` and `imgd upload`: keeping a deployment in shape, and feeding it.
import { Option, type Command } from 'commander';
import { migrateToLatest } from '../db/migrate.js';
import { migrateStorageCommand, type MigrateStorageFlags } from '../ops/storage-command.js';
import { uploadCommand, type UploadFlags } from '../ops/upload-command.js';
import { printJson, settings, wholeNumber } from './context.js';
import { withDeployment } from './deployment.js';

async function migrate(options: { json?: boolean }): Promise<void> {
  // Opened as found: migrating is this command's own work, and it reports what it applied.
  await withDeployment(settings(), { needs: ['database'], migrate: false }, async ({ db }) => {
    const applied = await migrateToLatest(db);
    if (options.json) printJson({ applied });
    else process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n');
  });
}

async function gc(options: { grace?: string; json?: boolean }): Promise<void> {
  const grace = wholeNumber(options.grace, '--grace');
  await withDeployment(settings(), { needs: ['core'] }, async ({ core }) => {
    const report = await core.gc(grace);
    if (options.json) {
      printJson({ temp_files: report.tempFiles, blobs: report.blobs, resumable_uploads: report.uploads, idempotency_keys: report.idempotencyKeys });
      return;
    }
    process.stdout.write(
      `removed ${report.tempFiles} temp file(s) and ${report.blobs} unreferenced blob(s); ${report.uploads} expired resumable upload(s) and ${report.idempotencyKeys} expired Idempotency-Key(s)\n`,
    );
  });
}

export function registerMaintenanceCommands(program: Command): void {
  program.command('migrate').description('bring the database up to the current version (serve and worker do it too when they start)').option('--json', 'print the migrations applied as JSON').action(migrate);
  program
    .command('gc')
    .summary('remove leftovers: temp files, unused stored images, expired uploads')
    .description('remove what is left over: temp files of interrupted writes, stored images no image record uses, expired unfinished uploads')
    .option('--grace <seconds>', 'only remove what is older than this (default GC_GRACE_SECONDS)')
    .option('--json', 'print the counts as JSON')
    .action(gc);
  program
    .command('migrate-storage')
    .summary('copy the stored images from disk to S3, or back')
    .description('copy every stored image (originals and cached variants) from the configured store to the other kind (disk to S3 or back), checking each; run it again to finish an interrupted copy')
    .addOption(new Option('--to <kind>', 'where the images go: s3 (from the S3_* settings) or fs (STORAGE_DIR, else DATA_DIR/blobs)').choices(['s3', 'fs']).makeOptionMandatory())
    .option('--concurrency <n>', 'images copied at once', '4')
    .option('--verify-existing', 'check the content of images already in the target instead of trusting their size')
    .action((flags: MigrateStorageFlags) => migrateStorageCommand(settings(), flags));
  program
    .command('upload <files...>')
    .summary('upload images to a running server, resumably')
    .description('upload images to a running server (this one or another), resumably: run it again after an interruption and each unfinished file continues where it stopped')
    .option('--server <url>', 'the server (default PUBLIC_URL, else http://HOST:PORT)')
    .option('--token <credential>', 'API key, upload token or admin token (default IMGD_TOKEN, AUTH_TOKEN, or DATA_DIR/auth_token)')
    .option('--key <key>', 'file the images under this key')
    .option('--description <text>', 'a description for every image')
    .addOption(new Option('--visibility <visibility>', 'public or private').choices(['public', 'private']))
    .option('--chunk-size <bytes>', 'bytes per request', String(8 * 1024 * 1024))
    .option('--state <file>', 'where unfinished uploads are remembered (default $XDG_STATE_HOME/imgd/uploads.json)')
    .option('--json', 'one JSON line per file')
    .action((files: string[], flags: UploadFlags) => uploadCommand(files, flags));
}
