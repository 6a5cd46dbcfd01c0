// Group commit: concurrent writes share one transaction, so one fsync of the database serves many uploads.
import { sql, type Kysely } from 'kysely';
import { sqliteHandle, sqliteStatements, type Db } from './database.js';
import type { Database } from './schema.js';

export type Work<T> = (trx: Kysely<Database>) => Promise<T>;

export interface WriteGroup {
  /** Runs work in a transaction, perhaps shared with other work; it commits (or fails) on its own all the same. */
  run<T>(work: Work<T>): Promise<T>;
}

interface Queued {
  readonly work: Work<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * SQLite has one writer and synchronous=FULL makes each commit an fsync. Work that arrives while a group is being
 * written waits for the next group; each piece runs in a savepoint of its own, so one that fails rolls back alone.
 * Only the bookkeeping is shared: a piece's result is reported only after the group's COMMIT has returned.
 */
function sqliteGroup(db: Db): WriteGroup {
  let queued: Queued[] = [];
  let writing: Promise<void> | undefined;
  const handle = sqliteHandle(db);
  // The savepoints run on the connection the transaction holds, prepared once, not through Kysely's executor.
  const statements = sqliteStatements(db);
  const exec = async (trx: Kysely<Database>, text: string): Promise<void> => {
    if (statements) statements.prepare(text).run([]);
    else await sql.raw(text).execute(trx);
  };

  async function writeGroup(group: Queued[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await db.transaction().execute(async (trx) => {
        for (const piece of group) {
          await exec(trx, 'savepoint piece');
          try {
            outcomes.push({ ok: true, value: await piece.work(trx) });
            await exec(trx, 'release savepoint piece');
          } catch (error) {
            // SQLite ended the whole transaction itself (SQLITE_FULL, SQLITE_IOERR): the group fails with this error.
            if (!handle?.inTransaction) throw error;
            await exec(trx, 'rollback to savepoint piece');
            await exec(trx, 'release savepoint piece');
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const piece of group) piece.reject(error);
      return;
    }
    group.forEach((piece, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) piece.resolve(outcome.value);
      else piece.reject(outcome.error);
    });
  }

  function flush(): void {
    if (writing || queued.length === 0) return;
    const group = queued;
    queued = [];
    writing = writeGroup(group).finally(() => {
      writing = undefined;
      flush();
    });
  }

  return {
    run<T>(work: Work<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queued.push({ work, resolve: resolve as (value: unknown) => void, reject });
        // Let the writes that arrive in this same turn of the event loop join the group.
        if (queued.length === 1) setImmediate(flush);
      });
    },
  };
}

/** PostgreSQL commits concurrent transactions side by side (and groups their WAL flushes itself). */
function separateTransactions(db: Db): WriteGroup {
  return { run: (work) => db.transaction().execute(work) };
}

export function createWriteGroup(db: Db, kind: 'sqlite' | 'postgres'): WriteGroup {
  return kind === 'sqlite' ? sqliteGroup(db) : separateTransactions(db);
}
