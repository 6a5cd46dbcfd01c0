// Settings as they arrive (environment strings, CONFIG_FILE's JSON) made into what the schema checks.
import { readFileSync } from 'node:fs';
import type { ImageFormat } from '../core/formats.js';
import { durationSeconds } from '../config-report.js';
import { ConfigError } from './error.js';

export type Source = Record<string, unknown>;

const EXTENSION_FORMATS: Record<string, ImageFormat> = { jpg: 'jpeg', jpeg: 'jpeg', tif: 'tiff', tiff: 'tiff', heif: 'heic' };

/** Python's level names (seed 004), in any case, and ours in any case. */
const SEED_LOG_LEVELS: Record<string, string> = { warning: 'warn', critical: 'fatal' };

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Turns environment strings into the types the schema expects; leaves bad values for the schema to name. */
export function coerce(name: string, value: unknown, type: string | undefined): unknown {
  if (typeof value !== 'string') return value;
  if (name === 'MAX_FILE_SIZE' || name === 'MIN_FREE_DISK') {
    const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
    return m && unit ? Number(m[1]) * unit : value;
  }
  if (name === 'SESSION_LIFETIME' || name === 'SESSION_IDLE_TIMEOUT') return durationSeconds(value);
  if (name === 'LOG_LEVEL') return SEED_LOG_LEVELS[value.trim().toLowerCase()] ?? value.trim().toLowerCase();
  if (name === 'CORS_ORIGINS') return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (name === 'VARIANT_SIZES' || name === 'VARIANT_QUALITIES') {
    return value.split(',').map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : s.trim()));
  }
  if (name === 'ALLOWED_FORMATS') {
    const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    return [...new Set(list.map((s) => EXTENSION_FORMATS[s] ?? s))];
  }
  if (type === 'integer') return /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (type === 'boolean') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
  }
  return value;
}

/** CONFIG_FILE's settings: one JSON object. */
export function readConfigFile(file: string): Source {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Source;
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}
