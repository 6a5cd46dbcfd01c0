// One way for every command to open a deployment: the parts it asks for (database, store, staging folder, the whole core), and one close().
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { createCore, type Core } from '../app.js';
import { requestedLogLevel, type Config } from '../config.js';
import { openDatabase, type Db } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import type { BlobStore } from '../core/storage/blob-store.js';
import { openStore } from '../store/open.js';
import { stderrLogger } from './context.js';

/** `core`: everything but HTTP (database migrated, store and queue open; jobs run only for a worker). */
export type Need = 'database' | 'store' | 'staging' | 'core';

interface Parts {
  readonly db: Db;
  readonly store: BlobStore;
  /** DATA_DIR/tmp, made if missing: where a command stages what it writes to the store. */
  readonly stagingDir: string;
  readonly core: Core;
}

interface Provides {
  database: 'db';
  store: 'store';
  staging: 'stagingDir';
  core: 'core';
}

export type Deployment<N extends Need> = Pick<Parts, Provides[N]> & { close(): Promise<void> };

export interface OpenOptions<N extends Need> {
  readonly needs: readonly N[];
  /** false opens the database as found (doctor, and `imgd migrate` itself); else it is brought to the current schema first. */
  readonly migrate?: boolean;
  /** The core's logger; by default one-shot commands log warnings and worse on stderr unless LOG_LEVEL asks for more. */
  readonly logger?: Logger;
  /** The core runs job handlers whatever RUN_WORKERS says (`imgd worker`). */
  readonly worker?: boolean;
}

/** One-shot commands log warnings and worse unless LOG_LEVEL asks for more: their results say what they did. */
const commandLogLevel = (config: Config): string => (requestedLogLevel() === undefined ? 'warn' : config.logLevel);

async function openCore(config: Config, options: OpenOptions<Need>): Promise<Parts & { close(): Promise<void> }> {
  const core = await createCore(config, { logger: options.logger ?? stderrLogger(commandLogLevel(config)), worker: options.worker });
  return { core, db: core.db, store: core.store, stagingDir: path.join(config.dataDir, 'tmp'), close: () => core.close() };
}

export async function openDeployment<N extends Need>(config: Config, options: OpenOptions<N>): Promise<Deployment<N>> {
  const needs = new Set<Need>(options.needs);
  if (needs.has('core')) return (await openCore(config, options)) as Deployment<N>;
  const parts: Partial<Parts> & { close(): Promise<void> } = { close: async () => undefined };
  try {
    if (needs.has('database')) {
      const db = openDatabase(config.database);
      Object.assign(parts, { db, close: () => db.destroy() });
      if (options.migrate !== false) await migrateToLatest(db);
    }
    if (needs.has('staging')) {
      const stagingDir = path.join(config.dataDir, 'tmp');
      await mkdir(stagingDir, { recursive: true });
      Object.assign(parts, { stagingDir });
    }
    if (needs.has('store')) Object.assign(parts, { store: (await openStore(config.storage)).store });
  } catch (err) {
    // What did open is closed; the failure is the command's to report.
    await parts.close().catch(() => undefined);
    throw err;
  }
  return parts as Deployment<N>;
}

/** Runs `work` with what it asked for, closing it whatever happens. */
export async function withDeployment<N extends Need, T>(config: Config, options: OpenOptions<N>, work: (deployment: Deployment<N>) => Promise<T>): Promise<T> {
  const deployment = await openDeployment(config, options);
  try {
    return await work(deployment);
  } finally {
    await deployment.close();
  }
}
