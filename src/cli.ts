#!/usr/bin/env node
// imgd on the command line: serve, worker, migrate, gc, migrate-storage, export, import, user, token, upload.
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { createApp, createCore, type App, type Core } from './app.js';
import { mintHmacToken } from './auth/hmac-upload-tokens.js';
import { roleScopes } from './core/accounts.js';
import { ImgdError } from './core/errors.js';
import { ADMIN, type Actor, type Scope } from './core/types.js';
import { createLogger, logProcessWarnings, logUncaughtFaults } from './logging.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { serveWorkerMetrics } from './http/worker-metrics.js';
import { exportCommand, importCommand } from './ops/archive-command.js';
import { importFolder, type FolderProfile } from './ops/import-folder.js';
import { migrateStorageCommand, type MigrateStorageFlags } from './ops/storage-command.js';
import { uploadCommand, type UploadFlags } from './ops/upload-command.js';
import { createPrivately, foreignOwnerRefusal, modeProblems } from './ops/private-files.js';

/** A refused setting (COMPAT collisions included): one JSON log line naming the cause, exit status 2, before any port opens. */
function refuseStart(err: ConfigError): never {
  createLogger('info', pino.destination({ fd: 2, sync: true })).fatal({ error: 'configuration' }, err.message);
  process.exit(2);
}

/** Node's process warnings (and serve's and worker's uncaught faults) as JSON on stderr: stdout carries what commands print for scripts (`imgd token`...). */
const warningLogger = (level: string) => createLogger(level, pino.destination({ fd: 2, sync: true }));
// Until the configured level is known (configOrExit), at imgd's default level.
logProcessWarnings(warningLogger('info'));

function configOrExit(): Config {
  try {
    const config = loadConfig();
    logProcessWarnings(warningLogger(config.logLevel));
    const refusal = foreignOwnerRefusal(config.dataDir, process.argv.slice(2));
    if (refusal) {
      process.stderr.write(`${refusal}\n`);
      process.exit(2);
    }
    return config;
  } catch (err) {
    if (err instanceof ConfigError) refuseStart(err);
    throw err;
  }
}

function banner(app: App, url: string): string {
  const { adminToken, config } = app;
  const lines = [
    `imgd is listening on ${url}`,
    `  API        ${url}/api/v1   (docs: ${url}/docs)`,
    `  data       ${config.dataDir} (${config.database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, blobs in ${config.storage.kind === 'fs' ? config.storage.dir : `s3://${config.storage.bucket}`})`,
  ];
  // Where each seed's clients now point (COMPAT).
  for (const { name } of config.compat.profiles) lines.push(`  compat     ${name.padEnd(13)}${app.profileUrl(name) ?? url}`);
  if (adminToken.source === 'generated') {
    lines.push(
      `  admin token (shown this once; saved to ${adminToken.file} with mode 600):`,
      `    ${adminToken.token}`,
    );
  } else if (adminToken.source === 'file') {
    lines.push(`  admin token in ${adminToken.file}`);
  } else {
    lines.push('  admin token from AUTH_TOKEN');
  }
  const token = adminToken.source === 'env' ? '$AUTH_TOKEN' : `$(cat ${adminToken.file})`;
  lines.push(`  upload     curl -H "Authorization: Bearer ${token}" -F file=@photo.jpg ${url}/api/v1/images`);
  return `${lines.join('\n')}\n`;
}

/** The banner's facts as fields of one log line; the admin token itself never goes into a log. */
function startFacts(app: App, url: string): Record<string, unknown> {
  const { adminToken, config } = app;
  const compat = Object.fromEntries(config.compat.profiles.map(({ name }) => [name, app.profileUrl(name) ?? url]));
  const token =
    adminToken.source === 'generated'
      ? `generated and saved to ${adminToken.file} (mode 600); it is not logged: read it there`
      : adminToken.source === 'file'
        ? `in ${adminToken.file}`
        : 'from AUTH_TOKEN';
  return {
    url,
    api: `${url}/api/v1`,
    docs: `${url}/docs`,
    database: config.database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    data_dir: config.dataDir,
    blobs: config.storage.kind === 'fs' ? config.storage.dir : `s3://${config.storage.bucket}`,
    ...(config.compat.profiles.length > 0 ? { compat } : {}),
    admin_token: token,
  };
}

/**
 * Where imgd listens and how to sign in: a banner for a person at a terminal; one JSON log line when stdout goes to a
 * log (a service manager, a container, a pipe), where every line is JSON (COMPAT.md §2.8) and secrets are never written.
 */
function announce(app: App, url: string): void {
  if (process.stdout.isTTY) process.stdout.write(banner(app, url));
  // Written whatever LOG_LEVEL says: it is the one line that tells where the service is.
  else app.logger.child({}, { level: app.logger.level === 'silent' ? 'silent' : 'info' }).info(startFacts(app, url), `imgd is listening on ${url}`);
}

async function serve(): Promise<void> {
  const config = configOrExit();
  logUncaughtFaults(warningLogger(config.logLevel));
  let app: App;
  let url: string;
  try {
    app = await createApp(config);
    url = await app.listen();
  } catch (err) {
    if (err instanceof ConfigError) refuseStart(err);
    throw err;
  }
  announce(app, url);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      app.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function worker(): Promise<void> {
  const config = configOrExit();
  logUncaughtFaults(warningLogger(config.logLevel));
  const core = await createCore(config, { worker: true });
  await core.queue.start();
  const metrics = config.jobs.workerMetricsPort === undefined ? undefined : await serveWorkerMetrics(core.metrics.registry, config.host, config.jobs.workerMetricsPort);
  const metricsUrl = metrics && `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${metrics.port}/metrics`;
  const running = `imgd worker is running jobs (${config.jobs.redisUrl ? 'BullMQ on Redis' : 'database queue'})`;
  if (process.stdout.isTTY) process.stdout.write(`${running}\n${metricsUrl ? `  metrics    ${metricsUrl}\n` : ''}`);
  else core.logger.child({}, { level: core.logger.level === 'silent' ? 'silent' : 'info' }).info({ queue: config.jobs.redisUrl ? 'redis' : 'database', ...(metricsUrl ? { metrics: metricsUrl } : {}) }, running);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    core.logger.info({ signal }, 'worker shutting down: finishing running jobs');
    const force = setTimeout(() => process.exit(1), config.http.shutdownTimeoutMs);
    force.unref();
    Promise.all([metrics?.close(), core.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        core.logger.error({ err }, 'worker shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function migrate(): Promise<void> {
  const config = configOrExit();
  const db = openDatabase(config.database);
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n');
  } finally {
    await db.destroy();
  }
}

async function gc(options: { grace?: string }): Promise<void> {
  const config = configOrExit();
  const grace = options.grace === undefined ? undefined : Number(options.grace);
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) {
    process.stderr.write('imgd gc: --grace takes a whole number of seconds\n');
    process.exit(2);
  }
  const core = await createCore(config);
  try {
    const report = await core.gc(grace);
    process.stdout.write(`removed ${report.tempFiles} temp file(s) and ${report.blobs} unreferenced blob(s); ${report.uploads} expired resumable upload(s) and ${report.idempotencyKeys} expired Idempotency-Key(s)\n`);
  } finally {
    await core.close();
  }
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function withCore<T>(run: (core: Core) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const core = await createCore(config, { logger: createLogger('warn') });
  try {
    return await run(core);
  } catch (err) {
    if (err instanceof ImgdError) {
      process.stderr.write(`imgd: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  } finally {
    await core.close();
  }
}

async function userAdd(username: string, options: { email?: string; admin?: boolean; passwordStdin?: boolean }): Promise<void> {
  const password = options.passwordStdin ? await readStdinLine() : randomBytes(18).toString('base64url');
  await withCore(async (core) => {
    const user = await core.accounts.addUser(
      { username, email: options.email ?? `${username}@localhost.invalid`, password },
      options.admin ? 'admin' : 'user',
    );
    process.stdout.write(`created ${user.role} ${user.username} (id ${user.id})\n`);
    if (!options.passwordStdin) process.stdout.write(`password (shown this once): ${password}\n`);
  });
}

async function userList(): Promise<void> {
  await withCore(async (core) => {
    for (const u of await core.accounts.listUsers(ADMIN)) process.stdout.write(`${u.id}  ${u.role.padEnd(5)}  ${u.username}  ${u.email}\n`);
  });
}

interface TokenOptions {
  minted?: boolean;
  apiKey?: boolean;
  user?: string;
  name?: string;
  scopes?: string;
  key?: string;
  maxBytes?: string;
  expiresIn?: string;
  singleUse?: boolean;
}

async function token(options: TokenOptions): Promise<void> {
  const config = configOrExit();
  if (!options.minted && !options.apiKey) {
    const secret = config.auth.uploadTokenSecret;
    if (!secret) {
      process.stderr.write('imgd token: set UPLOAD_TOKEN_SECRET (or MEDIA_SERVER_SECRET) for ts.sig tokens, or use --minted or --api-key\n');
      process.exit(2);
    }
    process.stdout.write(`${mintHmacToken(secret)}\n`);
    return;
  }
  await withCore(async (core) => {
    if (options.apiKey) {
      const user = options.user ? await core.accounts.userByName(options.user) : undefined;
      if (!user) throw new ImgdError('not_found', `imgd token --api-key needs --user <an existing username>.`);
      const actor: Actor = { kind: 'user', user, scopes: roleScopes(user.role), apiKeyId: null };
      const scopes = (options.scopes ?? 'read,upload').split(',').map((s) => s.trim()) as Scope[];
      const { secret } = await core.accounts.createApiKey(actor, options.name ?? 'cli', scopes, null);
      process.stdout.write(`${secret}\n`);
      return;
    }
    const { secret } = await core.accounts.mintUploadToken(
      ADMIN,
      {
        key: options.key ?? null,
        maxBytes: options.maxBytes === undefined ? null : Number(options.maxBytes),
        expiresIn: options.expiresIn === undefined ? config.auth.uploadTokenExpirySeconds : Number(options.expiresIn),
        singleUse: Boolean(options.singleUse),
      },
      null,
    );
    process.stdout.write(`${secret}\n`);
  });
}

// Whatever the command writes (archives, secrets, the database) is the data dir owner's alone.
createPrivately();
/** `imgd import`: a folder (with --keep-names) or an export archive, told apart by what the path is. */
async function importSource(source: string, flags: { keepNames?: boolean; for: FolderProfile }): Promise<void> {
  const isFolder = source !== '-' && (await stat(source).catch(() => undefined))?.isDirectory() === true;
  if (isFolder !== Boolean(flags.keepNames)) {
    process.stderr.write(
      isFolder
        ? `imgd import: ${source} is a folder: add --keep-names to import its images under their names\n`
        : `imgd import: --keep-names takes a folder; ${source} is not one (an export archive is imported without it)\n`,
    );
    process.exit(2);
  }
  if (!isFolder) return importCommand(configOrExit(), source);
  await withCore(async (core) => {
    const report = await importFolder(core, source, flags.for, (line) => process.stdout.write(line));
    process.stdout.write(`imported ${report.imported} image(s) from ${source}; ${report.present} already present, ${report.skipped} skipped\n`);
  });
}

const program = new Command('imgd').description('Self-hosted image service').showHelpAfterError();
program.command('serve').description('run the HTTP server (and the in-process job runner)').action(serve);
program.command('worker').description('run background jobs only (no HTTP)').action(worker);
program.command('migrate').description('bring the database schema to the latest version').action(migrate);
program.command('doctor').description('report files and folders under the data dir that others may read or another user owns (exit 1 if any)').action(doctor);
program
  .command('gc')
  .description('remove temp files left by crashes and stored bytes no image refers to')
  .option('--grace <seconds>', 'only touch what is older than this (default GC_GRACE_SECONDS)')
  .action(gc);

program
  .command('migrate-storage')
  .description('copy every blob (originals and cached variants) from the configured store to the other kind, checking SHA-256; re-run to finish an interrupted copy')
  .addOption(new Option('--to <kind>', 'where the blobs go: s3 (from S3_* settings) or fs (STORAGE_DIR, else DATA_DIR/blobs)').choices(['s3', 'fs']).makeOptionMandatory())
  .option('--concurrency <n>', 'blobs copied at once', '4')
  .option('--verify-existing', 'hash originals already in the target instead of trusting their size')
  .action((flags: MigrateStorageFlags) => migrateStorageCommand(configOrExit(), flags));

program
  .command('export <file>')
  .description('write the whole deployment (every table and blob) to one tar archive; - for standard output')
  .action((file: string) => exportCommand(configOrExit(), file));
program
  .command('import <source>')
  .description(
    'load an `imgd export` archive into this (empty) deployment, all or nothing (- for standard input); ' +
      'or, with --keep-names, a seed\'s upload folder, each file under its own name (a re-run adds nothing)',
  )
  .option('--keep-names', 'source is a folder of images (img_handler\'s UPLOAD_DIR, media_server\'s media folder): keep each file\'s name')
  .addOption(new Option('--for <profile>', 'folder: whose images they become (as uploads through that profile)').choices(['img_handler', 'media_server']).default('img_handler'))
  .action((source: string, flags: { keepNames?: boolean; for: FolderProfile }) => importSource(source, flags));

/** Reports what under the data dir others could read or another user owns; exit 1 when there is any. */
async function doctor(): Promise<void> {
  const config = configOrExit();
  const { database, storage } = config;
  const roots = [config.dataDir];
  if (storage.kind === 'fs') roots.push(storage.dir);
  if (database.kind === 'sqlite') roots.push(...['', '-wal', '-shm'].map((suffix) => `${database.file}${suffix}`));
  let problems = 0;
  for await (const { path: at, problem } of modeProblems(roots, process.getuid?.() ?? 0)) {
    problems += 1;
    process.stdout.write(`${at}: ${problem}\n`);
  }
  if (problems === 0) {
    process.stdout.write(`file modes ok: files 600 and folders 700, all this user's, under ${roots.join(', ')}\n`);
    return;
  }
  process.stdout.write(`${problems} problem(s): chown them to the data dir's owner, and chmod -R go= ${config.dataDir}\n`);
  process.exitCode = 1;
}

program
  .command('upload <files...>')
  .description('upload images to a server over tus (resumable): run it again after an interruption and each unfinished file resumes where it stopped')
  .option('--server <url>', 'the server (default PUBLIC_URL, else http://HOST:PORT)')
  .option('--token <credential>', 'API key, upload token or admin token (default IMGD_TOKEN, AUTH_TOKEN, or DATA_DIR/auth_token)')
  .option('--key <key>', 'file the images under this key')
  .option('--description <text>', 'a description for every image')
  .addOption(new Option('--visibility <visibility>', 'public or private').choices(['public', 'private']))
  .option('--chunk-size <bytes>', 'bytes per request', String(8 * 1024 * 1024))
  .option('--state <file>', 'where unfinished uploads are remembered (default $XDG_STATE_HOME/imgd/uploads.json)')
  .option('--json', 'one JSON line per file')
  .action((files: string[], flags: UploadFlags) => uploadCommand(files, flags));

const user = program.command('user').description('manage users');
user
  .command('add <username>')
  .description('create a user (a random password is printed unless --password-stdin)')
  .option('--email <email>', 'e-mail address')
  .option('--admin', 'give the admin role')
  .option('--password-stdin', 'read the password from the first line of standard input')
  .action(userAdd);
user.command('list').description('list users').action(userList);
program
  .command('token')
  .description('print a credential: a seed-003 ts.sig upload token (default), a minted upload token, or an API key')
  .option('--minted', 'a server-minted upload token (see --key, --max-bytes, --expires-in, --single-use)')
  .option('--key <key>', 'minted token: only uploads into this key')
  .option('--max-bytes <n>', 'minted token: largest file it may upload')
  .option('--expires-in <seconds>', 'minted token: lifetime (default TOKEN_EXPIRY_SECONDS)')
  .option('--single-use', 'minted token: one upload request only')
  .option('--api-key', 'an API key for --user')
  .option('--user <username>', 'API key: the user it belongs to')
  .option('--name <name>', 'API key: its name', 'cli')
  .option('--scopes <list>', 'API key: comma-separated scopes (read, upload, delete, admin)', 'read,upload')
  .action(token);

await program.parseAsync(process.argv);
