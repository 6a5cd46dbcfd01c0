// Processing step runs on Kysely: one row per step, for durations per step (average, p95).
import { newRecordId } from '../core/ids.js';
import type { ProcessingRuns, StepRun, StepStats } from '../core/jobs/processing.js';
import type { Db } from './database.js';
import { kyselyWriter, type Writer } from './writer.js';

/** Enough recent runs per step for a stable p95 without reading a whole history. */
const SAMPLE = 5000;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Writes step runs; `into` may be a transaction they belong to (an upload's, for the EXIF read at ingest). */
export async function insertRuns(into: Writer, imageId: string, runs: readonly StepRun[]): Promise<void> {
  if (runs.length === 0) return;
  const at = new Date().toISOString();
  await into.insert(
    'processing_runs',
    runs.map((run) => ({ id: newRecordId(), image_id: imageId, step: run.step, ok: run.ok ? 1 : 0, duration_ms: run.durationMs, at })),
  );
}

export function createProcessingRuns(db: Db): ProcessingRuns {
  /** One multi-row INSERT: one statement, one commit (and fsync) for all the steps of a job. */
  const recordAll = (imageId: string, runs: readonly StepRun[]): Promise<void> => insertRuns(kyselyWriter(db), imageId, runs);

  return {
    recordAll,

    async stats(sinceIso) {
      const steps = await db.selectFrom('processing_runs').select('step').distinct().where('at', '>=', sinceIso).execute();
      const result: StepStats[] = [];
      for (const { step } of steps) {
        const rows = await db
          .selectFrom('processing_runs')
          .select(['duration_ms', 'ok'])
          .where('step', '=', step)
          .where('at', '>=', sinceIso)
          .orderBy('at', 'desc')
          .limit(SAMPLE)
          .execute();
        const durations = rows.filter((r) => r.ok).map((r) => Number(r.duration_ms)).sort((a, b) => a - b);
        result.push({
          step,
          count: rows.length,
          failed: rows.filter((r) => !r.ok).length,
          averageMs: durations.length === 0 ? null : durations.reduce((a, b) => a + b, 0) / durations.length,
          p95Ms: percentile(durations, 95),
        });
      }
      return result;
    },
  };
}
