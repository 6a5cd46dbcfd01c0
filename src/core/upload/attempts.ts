// Upload attempts (each upload's outcome, kept for the stats) and the statistics made from them.
import type { ImgdError } from '../errors.js';
import { newRecordId } from '../ids.js';

export interface UploadAttempt {
  readonly id: string;
  readonly imageId: string | null;
  readonly originalName: string | null;
  readonly outcome: 'success' | 'failed';
  readonly code: string | null;
  readonly reason: string | null;
  readonly bytes: number | null;
  readonly durationMs: number;
  readonly createdAt: string;
}

export interface UploadStats {
  readonly total: number;
  readonly succeeded: number;
  /** Refused when made, and accepted but failed in processing later (pixels that do not decode). */
  readonly failed: number;
  /** Refused when made only (seed 001's `failed`: an upload accepted then failed in processing is not). */
  readonly refused: number;
  /** Mean time to check and store a successful upload. */
  readonly averageDurationMs: number | null;
  /** The same over every accepted upload, those failed in processing later included (seed 001's mean). */
  readonly averageAcceptedDurationMs: number | null;
  readonly perDay: readonly DayStats[];
}

export interface DayStats {
  readonly day: string;
  readonly total: number;
  readonly failed: number;
  /** Bytes of the uploads that succeeded that day. */
  readonly bytes: number;
  /** Mean time to check and store a successful upload that day. */
  readonly averageDurationMs: number | null;
}

/** The record of one attempt, accepted (error absent) or refused, timed from startedAt (performance.now()). */
export function attemptRecord(imageId: string | null, originalName: string | null, startedAt: number, bytes: number | null, error?: ImgdError): UploadAttempt {
  return {
    id: newRecordId(),
    imageId,
    originalName: originalName?.slice(0, 255) ?? null,
    outcome: error ? 'failed' : 'success',
    code: error?.code ?? null,
    reason: error?.message.slice(0, 500) ?? null,
    bytes,
    durationMs: performance.now() - startedAt,
    createdAt: new Date().toISOString(),
  };
}
