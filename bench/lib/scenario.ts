// What a scenario is given and what it reports: rows comparing imgd with one peer (or an absolute bound) each.
import type { BenchOptions } from './options.js';
import type { Pinning } from './procs.js';
import { figure, type Figure } from './stats.js';

export interface ScenarioContext {
  readonly options: BenchOptions;
  readonly pin: Pinning;
  /** A fresh temporary directory for this scenario. */
  readonly tmp: string;
  /** Measured repetitions per contender (at least 3, or 1 in --quick). */
  readonly repeats: number;
  /** Seconds per measured load run, and per warm-up run. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Where imgd's CPU profiles go when --profile is given. */
  readonly profileDir: string | undefined;
  log(message: string): void;
}

export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly imgd: Figure;
  /** The peer compared with, and its figure; undefined for absolute targets. */
  readonly peer?: { readonly name: string; readonly figure: Figure } | undefined;
  /** imgd's median over the peer's median. */
  readonly ratio?: number | undefined;
  readonly target: string;
  /** undefined when the target could not be judged (peer skipped). */
  readonly met: boolean | undefined;
  readonly notes?: readonly string[];
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<{ rows: Row[]; notes: string[]; raw?: unknown }>;
}

/** A row against a peer: the target is a bound on imgd/peer (at least `min` or at most `max`). */
export function versus(
  scenario: string,
  metric: string,
  imgd: readonly number[],
  peerName: string,
  peer: readonly number[] | string,
  bound: { min?: number; max?: number },
): Row {
  const target = bound.min !== undefined ? `>= ${bound.min} x ${peerName}` : `<= ${bound.max} x ${peerName}`;
  const mine = figure(imgd);
  if (typeof peer === 'string') return { scenario, metric, imgd: mine, peer: undefined, target, met: undefined, notes: [peer] };
  const theirs = figure(peer);
  const ratio = mine.median / theirs.median;
  const met = bound.min !== undefined ? ratio >= bound.min : ratio <= bound.max!;
  return { scenario, metric, imgd: mine, peer: { name: peerName, figure: theirs }, ratio, target, met };
}

/** A row with an absolute bound (lower is better), e.g. p99 < 5 ms. */
export function absolute(scenario: string, metric: string, imgd: readonly number[], max: number, unit: string): Row {
  const mine = figure(imgd);
  return { scenario, metric, imgd: mine, target: `< ${max} ${unit}`, met: mine.median < max };
}

/** A figure shown for information, with no target. */
export function info(scenario: string, metric: string, imgd: readonly number[], peerName?: string, peer?: readonly number[]): Row {
  const mine = figure(imgd);
  const theirs = peer && figure(peer);
  return {
    scenario,
    metric,
    imgd: mine,
    peer: peerName && theirs ? { name: peerName, figure: theirs } : undefined,
    ratio: theirs ? mine.median / theirs.median : undefined,
    target: '(info)',
    met: undefined,
  };
}
