// The seeds' time forms (COMPAT.md §2.7, all UTC; img_handler's compact stamp is core/naming's utcStamp) and their size limit L (§2.4).
import type { Config } from '../../config.js';

const MIB = 1024 * 1024;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Date and time parts of an instant; microseconds from the ISO string's milliseconds (JS keeps no finer). */
function parts(when: Date | string): { date: string; time: string; micro: string } {
  const d = typeof when === 'string' ? new Date(when) : when;
  const us = d.getUTCMilliseconds() * 1000;
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
    micro: pad(us, 6),
  };
}

/** `YYYY-MM-DD HH:MM:SS` (imgapi). */
export const spacedSeconds = (when: Date | string): string => {
  const p = parts(when);
  return `${p.date} ${p.time}`;
};

/** `YYYY-MM-DDTHH:MM:SS`, no zone (attachments). */
export const isoSeconds = (when: Date | string): string => {
  const p = parts(when);
  return `${p.date}T${p.time}`;
};

/** `YYYY-MM-DDTHH:MM:SS.ffffff`, no zone (s3_upload). */
export const isoMicros = (when: Date | string): string => {
  const p = parts(when);
  return `${p.date}T${p.time}.${p.micro}`;
};

/** The profiles' limit L in bytes: exactly L passes, L + 1 fails. */
export const profileLimit = (config: Config): number => config.compat.maxFileSize;

/** L in whole MiB, as the seeds' messages show it (`10`). */
export const limitInMiB = (config: Config): number => Math.floor(config.compat.maxFileSize / MIB);
