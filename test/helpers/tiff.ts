// Builds small little-endian TIFF (EXIF) structures byte by byte, for tests that need exact tags and types.

export interface TiffEntry {
  readonly tag: number;
  readonly type: number;
  readonly count: number;
  /** The value bytes, little-endian; inline when 4 bytes or fewer, else stored after the IFDs. */
  readonly data: Buffer;
}

export const EXIF_IFD_POINTER = 0x8769;
export const GPS_IFD_POINTER = 0x8825;

export function ascii(tag: number, text: string): TiffEntry {
  const data = Buffer.from(`${text}\0`, 'latin1');
  return { tag, type: 2, count: data.length, data };
}

export function byte(tag: number, value: number): TiffEntry {
  return { tag, type: 1, count: 1, data: Buffer.from([value]) };
}

export function short(tag: number, value: number): TiffEntry {
  const data = Buffer.alloc(2);
  data.writeUInt16LE(value);
  return { tag, type: 3, count: 1, data };
}

export function long(tag: number, value: number): TiffEntry {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(value);
  return { tag, type: 4, count: 1, data };
}

/** RATIONAL values given as [numerator, denominator] pairs. */
export function rationals(tag: number, ...values: [number, number][]): TiffEntry {
  const data = Buffer.alloc(8 * values.length);
  values.forEach(([numerator, denominator], i) => {
    data.writeUInt32LE(numerator, 8 * i);
    data.writeUInt32LE(denominator, 8 * i + 4);
  });
  return { tag, type: 5, count: values.length, data };
}

/** IFD0 with `ifd0`, plus an Exif IFD and a GPS IFD (with IFD0 pointing to them) when given. */
export function buildTiff(ifd0: TiffEntry[], exif?: TiffEntry[], gps?: TiffEntry[]): Buffer {
  const subIfds = [exif && { pointer: EXIF_IFD_POINTER, entries: exif }, gps && { pointer: GPS_IFD_POINTER, entries: gps }].filter(
    (ifd) => ifd !== undefined,
  );
  const ifds = [[...ifd0, ...subIfds.map(({ pointer }) => long(pointer, 0))], ...subIfds.map(({ entries }) => entries)].map((ifd) =>
    [...ifd].sort((a, b) => a.tag - b.tag),
  );
  const offsets: number[] = [];
  let end = 8;
  for (const ifd of ifds) {
    offsets.push(end);
    end += 2 + 12 * ifd.length + 4;
  }
  subIfds.forEach(({ pointer }, i) => ifds[0]!.find((entry) => entry.tag === pointer)!.data.writeUInt32LE(offsets[i + 1]!));
  const outOfLine = ifds.flat().reduce((sum, entry) => sum + (entry.data.length > 4 ? entry.data.length + (entry.data.length & 1) : 0), 0);
  const out = Buffer.alloc(end + outOfLine);
  out.write('II*\0', 0, 'latin1');
  out.writeUInt32LE(8, 4);
  let data = end;
  ifds.forEach((ifd, i) => {
    let at = offsets[i]!;
    out.writeUInt16LE(ifd.length, at);
    for (const entry of ifd) {
      out.writeUInt16LE(entry.tag, at + 2);
      out.writeUInt16LE(entry.type, at + 4);
      out.writeUInt32LE(entry.count, at + 6);
      if (entry.data.length <= 4) entry.data.copy(out, at + 10);
      else {
        out.writeUInt32LE(data, at + 10);
        entry.data.copy(out, data);
        data += entry.data.length + (entry.data.length & 1);
      }
      at += 12;
    }
  });
  return out;
}
