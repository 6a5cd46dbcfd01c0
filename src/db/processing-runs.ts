// Processing step runs on Kysely: one row per step, for durations per step (average, p95).
import { sql } from 'kysely';
import { newId } from '../core/ids.js';
import type { ProcessingRuns, StepRun, StepStats } from '../core/processing.js';
import type { Db } from './database.js';

/** Enough recent runs per step for a stable p95 without reading a whole history. */
const SAMPLE = 5000;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function createProcessingRuns(db: Db): ProcessingRuns {
  /** One multi-row INSERT: one statement, one commit (and fsync) for all the steps of a job. */
  async function recordAll(imageId: string, runs: readonly StepRun[]): Promise<void> {
    if (runs.length === 0) return;
    const at = new Date().toISOString();
    await db
      .insertInto('processing_runs')
      .values(runs.map((run) => ({ id: newId(), image_id: imageId, step: run.step, ok: run.ok ? 1 : 0, duration_ms: run.durationMs, at })))
      .execute();
  }

  return {
    record: (imageId, step, ok, durationMs) => recordAll(imageId, [{ step, ok, durationMs }]),
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

    async orphanedImages(jobType) {
      const rows = await db
        .selectFrom('images')
        .select('id')
        .where('status', '=', 'processing')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('jobs')
                .select('jobs.id')
                .where('jobs.type', '=', jobType)
                // 'queued': handed to Redis and not yet run (BullMQ); such an image is not orphaned either.
                .where('jobs.status', 'in', ['pending', 'queued', 'running'])
                .where('jobs.payload', '=', sql<string>`'{"imageId":"' || images.id || '"}'`),
            ),
          ),
        )
        .execute();
      return rows.map((r) => r.id);
    },
  };
}
