// The checks of `imgd doctor`: each looks at one thing (Node, the data dir, secrets, database, store, Redis, libvips) without changing it.
import { constants } from 'node:fs';
import { createRequire } from 'node:module';
import { access, open, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import sharp from 'sharp';
import type { Config } from '../config.js';
import { openDeployment, withDeployment } from '../cli/deployment.js';
import { describeFailure } from '../cli/failure.js';
import { schemaMigrator } from '../db/migrate.js';
import { modeProblems } from './private-files.js';
import { describeStorage } from './storage-command.js';
import { within } from '../lib/until-aborted.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** Lines that say more (each file with a wrong mode...). */
  readonly problems?: readonly string[];
}

const CHECK_TIMEOUT_MS = 10_000;
const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
const warn = (name: string, detail: string): CheckResult => ({ name, status: 'warn', detail });
const fail = (name: string, detail: string, problems?: string[]): CheckResult => ({ name, status: 'fail', detail, ...(problems ? { problems } : {}) });
const exists = (at: string): Promise<boolean> => stat(at).then(() => true, () => false);

export function checkNode(version = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  if (major < 20) return fail('node', `v${version}: too old; imgd runs on Node 20, 22 and 24 (24 recommended)`);
  if (major === 20) return warn('node', `v${version}: Node 20 reached its end of life in April 2026; move to Node 24 (the current LTS)`);
  return ok('node', `v${version}`);
}

async function checkDataDir(config: Config): Promise<CheckResult> {
  const dir = config.dataDir;
  if (!(await exists(dir))) return warn('data dir', `${dir} does not exist yet (imgd creates it when it starts)`);
  const probe = path.join(dir, `.doctor-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { mode: 0o600 });
    await unlink(probe);
  } catch (err) {
    return fail('data dir', `${dir} is not writable: ${describeFailure(err)}`);
  }
  return ok('data dir', `${dir} is writable`);
}

async function checkModes(config: Config): Promise<CheckResult> {
  const roots = [config.dataDir];
  if (config.storage.kind === 'fs') roots.push(config.storage.dir);
  if (config.database.kind === 'sqlite') roots.push(...['', '-wal', '-shm'].map((suffix) => `${config.database.kind === 'sqlite' ? config.database.file : ''}${suffix}`));
  const problems: string[] = [];
  const tree = config.publicTree;
  const share = tree.enabled && tree.group !== undefined ? { dataDir: config.dataDir, treeDir: tree.dir } : undefined;
  if (tree.enabled) roots.push(tree.dir);
  for await (const { path: at, problem } of modeProblems(roots, process.getuid?.() ?? 0, share)) problems.push(`${at}: ${problem}`);
  const shared = share && tree.enabled ? ` (the public tree ${share.treeDir} readable by group ${tree.group})` : '';
  if (problems.length === 0) return ok('file modes', `files 600 and folders 700, all this user's${shared}`);
  return fail('file modes', `${problems.length} problem(s): chown them to the data dir's owner, and chmod -R go= ${config.dataDir}`, problems);
}

async function checkSecrets(config: Config): Promise<CheckResult> {
  const found: string[] = [];
  for (const [name, fromEnv] of [['auth_token', 'AUTH_TOKEN'], ['signing_key', 'JWT_SECRET']] as const) {
    const set = name === 'auth_token' ? config.authToken : config.auth.jwtSecret;
    if (set) {
      found.push(`${name} from ${fromEnv}`);
      continue;
    }
    const file = path.join(config.dataDir, name);
    if (!(await exists(file))) continue;
    try {
      await (await open(file, 'r')).close();
    } catch (err) {
      return fail('secrets', `cannot read ${file}: ${describeFailure(err)}`);
    }
    const info = await stat(file);
    if (!info.isFile()) return fail('secrets', `${file} is not a file`);
    if ((info.mode & 0o077) !== 0) return fail('secrets', `${file} has mode ${(info.mode & 0o777).toString(8)}: others may read it; chmod 600 ${file}`);
    found.push(`${file} (600)`);
  }
  return ok('secrets', found.length ? found.join(', ') : 'none yet (imgd generates them at the first start)');
}

async function checkDatabase(config: Config): Promise<CheckResult> {
  const { database } = config;
  const where = database.kind === 'sqlite' ? `SQLite ${database.file}` : 'PostgreSQL (DATABASE_URL)';
  if (database.kind === 'sqlite' && !(await exists(database.file))) return warn('database', `${where} does not exist yet (imgd migrate or the first start creates it)`);
  // As found: the doctor looks, and changes nothing (no migration).
  const { db, close } = await openDeployment(config, { needs: ['database'], migrate: false });
  try {
    await sql`SELECT 1`.execute(db);
    const migrations = await schemaMigrator(db).getMigrations();
    const pending = migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
    if (pending.length > 0) return fail('database', `${where}: ${pending.length} migration(s) not applied (${pending.join(', ')}): run imgd migrate`);
    return ok('database', `${where}: reachable, schema current (${migrations.at(-1)?.name ?? 'none'})`);
  } catch (err) {
    return fail('database', `${where}: ${describeFailure(err)}`);
  } finally {
    await close().catch(() => undefined);
  }
}

async function checkStore(config: Config): Promise<CheckResult> {
  const where = describeStorage(config.storage);
  if (config.storage.kind === 'fs' && !(await exists(config.storage.dir))) return warn('store', `${where} does not exist yet (imgd creates it when it starts)`);
  try {
    if (config.storage.kind === 'fs') await access(config.storage.dir, constants.R_OK | constants.W_OK);
    await withDeployment(config, { needs: ['store'] }, ({ store }) => store.check());
    return ok('store', `${where}: reachable`);
  } catch (err) {
    return fail('store', `${where}: ${describeFailure(err)}`);
  }
}

async function checkRedis(config: Config): Promise<CheckResult | undefined> {
  const url = config.jobs.redisUrl;
  if (!url) return undefined;
  const { Redis } = await import('ioredis');
  const shown = url.replace(/\/\/[^@/]*@/, '//');
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 5_000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return ok('redis', `${shown}: reachable`);
  } catch (err) {
    return fail('redis', `${shown}: ${describeFailure(err)}`);
  } finally {
    client.disconnect();
  }
}

async function checkLibvips(): Promise<CheckResult> {
  const formats = sharp.format as unknown as Record<string, { input: { buffer: boolean }; output: { buffer: boolean } }>;
  const can = (id: string): boolean => Boolean(formats[id]?.input.buffer && formats[id]?.output.buffer);
  const missing = ['jpeg', 'png', 'webp', 'gif', 'heif'].filter((id) => !can(id)).map((id) => (id === 'heif' ? 'AVIF' : id.toUpperCase()));
  let heic = 'HEIC through libheif (WebAssembly)';
  try {
    createRequire(import.meta.url)('heic-decode');
  } catch (err) {
    missing.push(`HEIC (heic-decode: ${describeFailure(err)})`);
    heic = '';
  }
  const version = `libvips ${sharp.versions.vips} (sharp ${sharp.versions.sharp ?? '?'})`;
  if (missing.length > 0) return fail('images', `${version} cannot read or write ${missing.join(', ')}`);
  return ok('images', `${version}: JPEG, PNG, WebP, GIF, AVIF in and out; ${heic}`);
}

const withTimeout = (name: string, check: Promise<CheckResult | undefined>): Promise<CheckResult | undefined> =>
  within(check, CHECK_TIMEOUT_MS, () => fail(name, `no answer within ${CHECK_TIMEOUT_MS / 1000} s`));

/** Every check, in order, each bounded in time; Redis only when it is configured. */
/** PUBLIC_TREE: built (or not yet: the next start builds it), and who may read it. No line when it is off. */
async function checkPublicTree(config: Config): Promise<CheckResult | undefined> {
  const tree = config.publicTree;
  if (!tree.enabled) return undefined;
  const readers = tree.group === undefined ? 'readable by this user only (set STORE_GROUP to nginx\'s group)' : `readable by group ${tree.group}`;
  if (!(await exists(path.join(tree.dir, '.imgd-public-tree')))) return warn('public tree', `${tree.dir} is not built yet (imgd serve builds it when it starts); ${readers}`);
  return ok('public tree', `${tree.dir}, ${readers}; nginx serves it with deploy/nginx/imgd-public.conf`);
}

export async function runChecks(config: Config): Promise<CheckResult[]> {
  const checks: Array<[string, () => Promise<CheckResult | undefined>]> = [
    ['data dir', () => checkDataDir(config)],
    ['file modes', () => checkModes(config)],
    ['secrets', () => checkSecrets(config)],
    ['database', () => checkDatabase(config)],
    ['store', () => checkStore(config)],
    ['public tree', () => checkPublicTree(config)],
    ['redis', () => checkRedis(config)],
    ['images', () => checkLibvips()],
  ];
  const results: CheckResult[] = [];
  for (const [name, check] of checks) {
    const result = await withTimeout(name, check().catch((err: unknown) => fail(name, describeFailure(err))));
    if (result) results.push(result);
  }
  return results;
}
