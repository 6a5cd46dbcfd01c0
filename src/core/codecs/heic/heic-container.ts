// The HEIF container (ISO-BMFF boxes) read without decoding: the brands that say HEIC, the primary image's displayed
// size, and whether the file ends before its image data does.

export interface HeicSize {
  readonly width: number;
  readonly height: number;
}

/** Brands that name HEVC coding (single image, sequence, multi-layer). */
const HEVC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis']);
/** Brands that only say "some HEIF image or sequence", whatever the codec. */
const GENERIC_BRANDS = new Set(['mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

interface Brands {
  readonly major: string;
  readonly compatible: readonly string[];
}

function ftypBrands(head: Buffer): Brands | undefined {
  if (head.length < 16 || head.toString('latin1', 4, 8) !== 'ftyp') return undefined;
  const size = head.readUInt32BE(0);
  if (size < 16) return undefined;
  const compatible: string[] = [];
  for (let at = 16; at + 4 <= Math.min(size, head.length); at += 4) compatible.push(head.toString('latin1', at, at + 4));
  return { major: head.toString('latin1', 8, 12), compatible };
}

/** True for HEIF files heic-decode can take; AVIF (the same container with AV1) is left to sharp. */
export function isHeic(head: Buffer): boolean {
  const brands = ftypBrands(head);
  if (!brands || AVIF_BRANDS.has(brands.major)) return false;
  const all = [brands.major, ...brands.compatible];
  if (all.some((b) => HEVC_BRANDS.has(b))) return true;
  // AVIF writers list mif1 too; with avif beside it and no HEVC brand, the image is AV1, which libheif-js cannot decode.
  return all.some((b) => GENERIC_BRANDS.has(b)) && !brands.compatible.some((b) => AVIF_BRANDS.has(b));
}

/** A box's payload: bytes [start, end) of the file, after the size and type. */
interface Box {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

/** The boxes directly inside [from, to); stops at the first that does not fit, as nothing after it can be trusted. */
function boxesIn(buf: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1 && at + 16 <= to) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) break;
    boxes.push({ type: buf.toString('latin1', at + 4, at + 8), start: at + header, end: at + size });
    at += size;
  }
  return boxes;
}

const childOf = (buf: Buffer, parent: Box, type: string, skip = 0): Box | undefined =>
  boxesIn(buf, parent.start + skip, parent.end).find((b) => b.type === type);

/** Reads big-endian fields inside one box and refuses (RangeError) to run past its end. */
class Fields {
  constructor(
    private readonly buf: Buffer,
    private at: number,
    private readonly end: number,
  ) {}

  uint(bytes: number): number {
    if (this.at + bytes > this.end) throw new RangeError('field runs past its box');
    const value = bytes === 0 ? 0 : bytes === 8 ? Number(this.buf.readBigUInt64BE(this.at)) : this.buf.readUIntBE(this.at, bytes);
    this.at += bytes;
    return value;
  }

  /** FullBox header: version and the 24 flag bits. */
  versionAndFlags(): { version: number; flags: number } {
    return { version: this.uint(1), flags: this.uint(3) };
  }
}

const fieldsOf = (buf: Buffer, box: Box): Fields => new Fields(buf, box.start, box.end);

/** The top-level meta box (a FullBox, so its children start 4 bytes in). */
function metaOf(buf: Buffer): Box | undefined {
  return boxesIn(buf, 0, buf.length).find((b) => b.type === 'meta');
}

function primaryItem(buf: Buffer, meta: Box): number | undefined {
  const pitm = childOf(buf, meta, 'pitm', 4);
  if (!pitm) return undefined;
  const fields = fieldsOf(buf, pitm);
  const { version } = fields.versionAndFlags();
  return fields.uint(version === 0 ? 2 : 4);
}

/** The item's properties (ispe, irot, clap, ...) in the order ipma lists them, which is the order they apply in. */
function propertiesOf(buf: Buffer, meta: Box, item: number): Box[] {
  const iprp = childOf(buf, meta, 'iprp', 4);
  if (!iprp) return [];
  const ipco = childOf(buf, iprp, 'ipco');
  const properties = ipco ? boxesIn(buf, ipco.start, ipco.end) : [];
  const found: Box[] = [];
  for (const ipma of boxesIn(buf, iprp.start, iprp.end).filter((b) => b.type === 'ipma')) {
    for (const index of associations(fieldsOf(buf, ipma), item)) {
      const property = properties[index - 1]; // 1-based; 0 means "no property"
      if (property) found.push(property);
    }
  }
  return found;
}

function associations(fields: Fields, item: number): number[] {
  const { version, flags } = fields.versionAndFlags();
  const wide = (flags & 1) === 1;
  const entries = fields.uint(4);
  for (let e = 0; e < entries; e++) {
    const id = fields.uint(version < 1 ? 2 : 4);
    const count = fields.uint(1);
    const indexes: number[] = [];
    for (let a = 0; a < count; a++) indexes.push(wide ? fields.uint(2) & 0x7fff : fields.uint(1) & 0x7f);
    if (id === item) return indexes;
  }
  return [];
}

/** ispe gives the coded size; clap and irot then change it in ipma order, as libheif does for the size it decodes to. */
function displaySize(buf: Buffer, properties: readonly Box[]): HeicSize | undefined {
  const ispe = properties.find((p) => p.type === 'ispe');
  if (!ispe) return undefined;
  const fields = fieldsOf(buf, ispe);
  fields.versionAndFlags();
  let size: HeicSize | undefined = { width: fields.uint(4), height: fields.uint(4) };
  for (const property of properties) size = size && transformed(buf, property, size);
  return size && size.width > 0 && size.height > 0 ? size : undefined;
}

/** The size after one property: clap crops to its (rational) aperture, irot by 90 or 270 degrees swaps the sides. */
function transformed(buf: Buffer, property: Box, size: HeicSize): HeicSize | undefined {
  const fields = fieldsOf(buf, property);
  if (property.type === 'clap') {
    const [widthN, widthD, heightN, heightD] = [fields.uint(4), fields.uint(4), fields.uint(4), fields.uint(4)];
    if (widthD === 0 || heightD === 0) return undefined;
    return { width: Math.round(widthN / widthD), height: Math.round(heightN / heightD) };
  }
  if (property.type === 'irot' && (fields.uint(1) & 1) === 1) return { width: size.height, height: size.width };
  return size;
}

/**
 * The primary image's width and height as displayed, read from the container alone (no pixels, no WebAssembly),
 * or undefined when the bytes do not say.
 */
export function heicSize(bytes: Buffer): HeicSize | undefined {
  if (!isHeic(bytes)) return undefined;
  try {
    const meta = metaOf(bytes);
    const item = meta && primaryItem(bytes, meta);
    return meta && item !== undefined ? displaySize(bytes, propertiesOf(bytes, meta, item)) : undefined;
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

/** Does any item's data (per iloc) lie past the end of the bytes? Unreadable layouts are left for libheif to judge. */
export function isCutOff(bytes: Buffer): boolean {
  try {
    const meta = metaOf(bytes);
    const iloc = meta && childOf(bytes, meta, 'iloc', 4);
    return iloc ? furthestExtentEnd(fieldsOf(bytes, iloc)) > bytes.length : false;
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
}

function furthestExtentEnd(fields: Fields): number {
  const { version } = fields.versionAndFlags();
  const [offsetSize, lengthSize] = nibbles(fields.uint(1));
  const [baseOffsetSize, indexSize] = nibbles(fields.uint(1));
  const items = fields.uint(version < 2 ? 2 : 4);
  let furthest = 0;
  for (let i = 0; i < items; i++) {
    fields.uint(version < 2 ? 2 : 4); // item id
    const method = version === 1 || version === 2 ? fields.uint(2) & 0xf : 0;
    const dataReference = fields.uint(2);
    const base = fields.uint(baseOffsetSize);
    const extents = fields.uint(2);
    for (let e = 0; e < extents; e++) {
      if ((version === 1 || version === 2) && indexSize > 0) fields.uint(indexSize);
      const end = base + fields.uint(offsetSize) + fields.uint(lengthSize);
      // Only method 0 with reference 0 points into this file; idat data sits inside meta, which is whole if we got here.
      if (method === 0 && dataReference === 0) furthest = Math.max(furthest, end);
    }
  }
  return furthest;
}

const nibbles = (byte: number): [number, number] => [byte >> 4, byte & 0xf];
