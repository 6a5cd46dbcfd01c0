// Runs the same load against several servers in turn: a warm-up each, then the measured runs interleaved, the order
// rotated each round so that no contender always runs first (or last) while the host's speed drifts within a round.
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import type { ScenarioContext } from './scenario.js';

export interface Contender {
  readonly name: string;
  readonly spec: Omit<LoadSpec, 'seconds' | 'scratchDir' | 'generatorCores'>;
}

export async function compareLoad(ctx: ScenarioContext, contenders: readonly Contender[]): Promise<Map<string, LoadResult[]>> {
  const full = (c: Contender, seconds: number): LoadSpec => ({ ...c.spec, seconds, scratchDir: ctx.tmp, generatorCores: ctx.pin.generator });
  for (const c of contenders) {
    const warm = await runLoad(full(c, ctx.warmupSeconds));
    ctx.log(`  warm-up ${c.name}: ${warm.perSecond.toFixed(0)}/s, ${warm.errors} errors`);
  }
  const results = new Map<string, LoadResult[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < ctx.repeats; r += 1) {
    const order = [...contenders.slice(r % contenders.length), ...contenders.slice(0, r % contenders.length)];
    for (const c of order) {
      const result = await runLoad(full(c, ctx.seconds));
      results.get(c.name)!.push(result);
      ctx.log(`  run ${r + 1}/${ctx.repeats} ${c.name}: ${result.perSecond.toFixed(1)}/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.errors} errors`);
      if (result.errors > 0) ctx.log(`  WARNING: ${c.name} had ${result.errors} errors in this run`);
    }
  }
  return results;
}

export const pick = (runs: readonly LoadResult[] | undefined, f: (r: LoadResult) => number): number[] => (runs ?? []).map(f);
