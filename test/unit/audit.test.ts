// The audit log in the core: each recorded entry goes to its repository and to the log, the same entry in both.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAudit, type AuditEntry, type AuditRecord } from '../../src/core/audit.js';

function recordingAudit() {
  const rows: AuditEntry[] = [];
  const lines: AuditEntry[] = [];
  const audit = createAudit(
    {
      append: async (entry) => void rows.push(entry),
      recent: async (limit) => rows.slice(-limit).reverse().map((entry, i): AuditRecord => ({ ...entry, id: String(i), at: '2026-01-01T00:00:00.000Z' })),
    },
    (entry) => lines.push(entry),
  );
  return { audit, rows, lines };
}

describe('the audit log', () => {
  it('keeps a row and writes a log line for each entry, naming the actor the way credentials are described', async () => {
    const { audit, rows, lines } = recordingAudit();
    await audit.record({ kind: 'admin' }, 'user.delete', 'u1', '203.0.113.9', { username: 'ann' });
    await audit.record('cli', 'user.add', 'u2', null);
    const expected = [
      { actor: 'admin-token', action: 'user.delete', target: 'u1', ip: '203.0.113.9', details: { username: 'ann' } },
      { actor: 'cli', action: 'user.add', target: 'u2', ip: null },
    ];
    assert.deepEqual(rows, expected);
    assert.deepEqual(lines, expected);
    assert.deepEqual((await audit.recent(1)).map((r) => r.action), ['user.add']);
  });

  it("only logs an entry whose row an upload's transaction already wrote", () => {
    const { audit, rows, lines } = recordingAudit();
    const entry = { actor: 'user:u1', action: 'image.upload', target: 'i1', ip: '198.51.100.4' };
    audit.logCommitted(entry);
    assert.deepEqual(rows, []);
    assert.deepEqual(lines, [entry]);
  });
});
