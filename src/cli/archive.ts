// `imgd export`, `imgd restore` (an export archive) and `imgd import` (a folder of images; an archive still restores).
import { Option, type Command } from 'commander';
import { stat } from 'node:fs/promises';
import { ADMIN, type Actor } from '../core/access/actor.js';
import { VISIBILITIES, type Visibility } from '../core/images/image.js';
import { roleScopes } from '../core/accounts/accounts.js';
import { importFolder, type FolderProfile } from '../ops/import-folder.js';
import { importImages, type ImportProgress, type ImportReport } from '../ops/import-images.js';
import { printJson, settings } from './context.js';
import { withDeployment } from './deployment.js';
import { CommandFailed, UsageError } from './failure.js';

/** The archive commands, with tar, loaded when one runs: not by every other command (`imgd serve` among them). */
const archives = (): Promise<typeof import('../ops/archive-command.js')> => import('../ops/archive-command.js');

interface ImportFlags {
  keepNames?: boolean;
  for: FolderProfile;
  owner?: string;
  visibility: Visibility;
  key?: string;
  json?: boolean;
}

/** A progress line on stderr, redrawn in place at a terminal; nothing when stderr is a pipe or a file (a log). */
function progressLine(): (p: ImportProgress) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return ({ done, total, file }) => {
    const width = process.stderr.columns || 80;
    const text = file ? `importing ${done + 1}/${total}: ${file}` : `imported ${total} file(s)`;
    process.stderr.write(`\r${text.slice(0, width - 1)}\x1b[K${file ? '' : '\n'}`);
  };
}

function printReport(report: ImportReport): void {
  for (const { file, reason } of report.refused) process.stdout.write(`refused ${file}: ${(reason ?? '').replace(/\s*\n\s*/g, ' ')}\n`);
  process.stdout.write(
    `imported ${report.imported.length} of ${report.files} file(s) from ${report.folder}; ` +
      `${report.present.length} already stored, ${report.refused.length} refused\n`,
  );
}

async function importSource(source: string, flags: ImportFlags, importer: Command): Promise<void> {
  const config = settings();
  if (source === '-') return (await archives()).importCommand(config, source);
  // Checked before anything is opened, so that a wrong path leaves no empty database behind.
  const found = await stat(source).catch(() => undefined);
  if (!found) throw new CommandFailed(`${source}: no such file or folder`);
  if (!found.isDirectory()) {
    if (flags.keepNames) throw new UsageError(`--keep-names takes a folder; ${source} is a file (an export archive? then: imgd restore ${source})`);
    return (await archives()).importCommand(config, source);
  }
  if (flags.keepNames) {
    await withDeployment(config, { needs: ['core'] }, async ({ core }) => {
      const report = await importFolder(core, source, flags.for, (line) => process.stdout.write(line));
      process.stdout.write(`imported ${report.imported} image(s) from ${source}; ${report.present} already present, ${report.skipped} skipped\n`);
    });
    return;
  }
  if (importer.getOptionValueSource('for') === 'cli') throw new UsageError('--for goes with --keep-names');
  await withDeployment(config, { needs: ['core'] }, async ({ core }) => {
    let actor: Actor = ADMIN;
    if (flags.owner) {
      const user = await core.accounts.userByName(flags.owner);
      if (!user) throw new CommandFailed(`no user ${flags.owner}`);
      actor = { kind: 'user', user, scopes: roleScopes(user.role), apiKeyId: null };
    }
    const report = await importImages(core, source, { actor, visibility: flags.visibility, key: flags.key }, progressLine());
    if (flags.json) printJson(report);
    else printReport(report);
  });
}

export function registerArchiveCommands(program: Command): void {
  program
    .command('export <file>')
    .description('write everything (database rows, images, cached variants, the signing key) into one archive file; - writes to standard output')
    .action(async (file: string) => (await archives()).exportCommand(settings(), file));
  program
    .command('restore <archive>')
    .description('load an archive made by `imgd export` into this empty deployment, all or nothing; - reads standard input')
    .action(async (archive: string) => (await archives()).importCommand(settings(), archive));
  program
    .command('import <folder>')
    .summary('add every image under a folder (an export archive: restore it)')
    .description(
      'add every image under a folder (and its subfolders) as uploads would: each file checked, refusals named with ' +
        'their reason, files whose bytes are already stored skipped, so running it again adds nothing. ' +
        'Given an export archive instead of a folder, it restores it (as `imgd restore`)',
    )
    .option('--owner <username>', 'the user the images belong to (default: no owner; admins manage them)')
    .addOption(new Option('--visibility <visibility>', 'who may see the images without signing in').choices(VISIBILITIES).default('public'))
    .option('--key <key>', 'file every image under this key')
    .option('--json', 'print the summary as JSON: every file imported, already stored or refused (with the reason)')
    .option('--keep-names', "the folder is another service's upload folder (img_handler's UPLOAD_DIR, media_server's media folder): keep each file's name, so old links keep working (that folder only, not subfolders)")
    .addOption(new Option('--for <service>', 'with --keep-names: whose uploads the files become').choices(['img_handler', 'media_server']).default('img_handler'))
    .action((source: string, flags: ImportFlags, command: Command) => importSource(source, flags, command));
}
