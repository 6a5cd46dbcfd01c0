// Stored names: a slugified stem plus the extension of the detected format; collisions get a UTC stamp.

const MAX_STEM = 80;

/** `My Photo (1).JPG` -> `my-photo-1`; never empty, never a path. */
export function slugStem(originalName: string | undefined): string {
  const base = (originalName ?? '').split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const slug = stem
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_STEM)
    .replace(/-+$/, '');
  return slug || 'image';
}

/** `20260207T120102123456Z`: UTC to the microsecond (the last three digits from the monotonic clock). */
export function utcStamp(now: Date = new Date(), micros: number = Number(process.hrtime.bigint() % 1000n)): string {
  const iso = now.toISOString(); // 2026-02-07T12:01:02.123Z
  const compact = iso.slice(0, 19).replace(/[-:]/g, '');
  return `${compact}${iso.slice(20, 23)}${String(micros).padStart(3, '0')}Z`;
}

export function storedName(stem: string, extension: string): string {
  return `${stem}.${extension}`;
}

export function collisionName(stem: string, extension: string, now?: Date): string {
  return `${stem}_${utcStamp(now)}.${extension}`;
}
