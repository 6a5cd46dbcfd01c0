// Where each setting came from (environment, CONFIG_FILE, default) and its effective value with secrets masked.

export type SettingSource = 'env' | 'file' | 'default';

export interface SettingReport {
  readonly name: string;
  /** The effective value; null when unset; secrets are masked. */
  readonly value: string | number | boolean | readonly (string | number)[] | null;
  readonly source: SettingSource;
  /** The variable or file it was read from: an alias (`UPLOAD_DIR`), or the CONFIG_FILE path. */
  readonly from: string | null;
  readonly secret: boolean;
}

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90m`, `12h`, `30d` as seconds; anything else is left for the schema to refuse by name. */
export function durationSeconds(value: string): number | string {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(value);
  return m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : value;
}

export function settingSources(
  names: readonly string[],
  env: Record<string, string | undefined>,
  file: Record<string, unknown>,
  setAs: Record<string, string>,
  configFile: string | undefined,
): Map<string, { source: SettingSource; from: string | null }> {
  const sources = new Map<string, { source: SettingSource; from: string | null }>();
  for (const name of names) {
    if (env[name]) sources.set(name, { source: 'env', from: name });
    else if (setAs[name]) sources.set(name, { source: 'env', from: setAs[name]! });
    else if (file[name] !== undefined) sources.set(name, { source: 'file', from: configFile ?? null });
    else sources.set(name, { source: 'default', from: null });
  }
  return sources;
}

/** A URL's password (postgres://u:p@h, redis://:p@h) is a secret too. */
const withoutPassword = (value: string): string => value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:********@');

export function settingsReport(
  raw: Record<string, unknown>,
  sources: Map<string, { source: SettingSource; from: string | null }>,
  secrets: ReadonlySet<string>,
): SettingReport[] {
  return [...sources.entries()].map(([name, { source, from }]) => {
    const value = raw[name];
    const secret = secrets.has(name);
    let shown: SettingReport['value'];
    if (value === undefined || value === null) shown = null;
    else if (secret) shown = '********';
    else if (typeof value === 'string') shown = withoutPassword(value);
    else shown = value as SettingReport['value'];
    return { name, value: shown, source, from, secret };
  });
}
