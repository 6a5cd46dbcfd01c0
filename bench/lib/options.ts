// Command-line options of the benchmark runner: --quick, --only S3,S5, --keep.

export interface BenchOptions {
  readonly quick: boolean;
  /** Scenario ids to run (upper case), or undefined for all. */
  readonly only: ReadonlySet<string> | undefined;
  /** Keep the temporary data directories for inspection. */
  readonly keep: boolean;
  /** Write V8 CPU profiles of the imgd server to bench/results/profiles. */
  readonly profile: boolean;
  /** S8's length in seconds, when not the default (600, or 8 with --quick). */
  readonly soakSeconds: number | undefined;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  let quick = false;
  let only: Set<string> | undefined;
  let keep = false;
  let profile = false;
  let soakSeconds: number | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--keep') keep = true;
    else if (arg === '--profile') profile = true;
    else if (arg === '--soak' || arg.startsWith('--soak=')) {
      const value = Number(arg === '--soak' ? argv[++i] : arg.slice('--soak='.length));
      if (!Number.isInteger(value) || value < 8) throw new Error('--soak takes whole seconds, at least 8');
      soakSeconds = value;
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) throw new Error('--only needs a list such as S3,S5');
      only = new Set(value.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick] [--only S1,S3] [--keep] [--profile] [--soak SECONDS]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${arg}`);
  }
  return { quick, only, keep, profile, soakSeconds };
}
