// The audit log on Kysely: one row per entry, read back newest first.
import type { AuditEntry, AuditRepo } from '../core/audit.js';
import { newRecordId } from '../core/ids.js';
import type { Db } from './database.js';
import { kyselyWriter, type Writer } from './writer.js';

/** Writes one audit entry; `into` may be a transaction the entry belongs to (an upload's). */
export async function insertAudit(into: Writer, entry: AuditEntry): Promise<void> {
  await into.insert('audit_log', [
    {
      id: newRecordId(),
      at: new Date().toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      ip: entry.ip,
      details: entry.details ? JSON.stringify(entry.details) : null,
    },
  ]);
}

export function createAuditRepo(db: Db): AuditRepo {
  return {
    async append(entry) {
      await insertAudit(kyselyWriter(db), entry);
    },
    async recent(limit) {
      const rows = await db.selectFrom('audit_log').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        ip: r.ip,
        ...(r.details !== null && { details: JSON.parse(r.details) as Record<string, unknown> }),
      }));
    },
  };
}
