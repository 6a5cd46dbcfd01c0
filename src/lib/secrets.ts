// Comparing secrets without leaking their content through timing.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality for strings of any length (hashing first makes the lengths equal). */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
