// The audit log: who did what to what, and from where; each entry a row (through the repository) and a log line.
import { describeActor, type Actor } from './access/actor.js';

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly ip: string | null;
  readonly details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  readonly id: string;
  readonly at: string;
}

/** Where the entries are kept (implemented in db/audit.ts). */
export interface AuditRepo {
  append(entry: AuditEntry): Promise<void>;
  /** The newest entries first. */
  recent(limit: number): Promise<AuditRecord[]>;
}

export interface Audit {
  record(actor: Actor | string, action: string, target: string | null, ip: string | null, details?: Record<string, unknown>): Promise<void>;
  /** The log line of an entry whose row another write holds (an upload's, in the upload's transaction). */
  logCommitted(entry: AuditEntry): void;
  recent(limit: number): Promise<AuditRecord[]>;
}

/** `writeLine` puts one entry into the log (the composition root's logger). */
export function createAudit(repo: AuditRepo, writeLine: (entry: AuditEntry) => void): Audit {
  return {
    async record(actor, action, target, ip, details) {
      const entry: AuditEntry = { actor: typeof actor === 'string' ? actor : describeActor(actor), action, target, ip, ...(details && { details }) };
      await repo.append(entry);
      writeLine(entry);
    },
    logCommitted: writeLine,
    recent: (limit) => repo.recent(limit),
  };
}
