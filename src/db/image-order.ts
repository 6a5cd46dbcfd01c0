// The orders an image listing can take, each a keyset (a sort column and the id to break ties) with its cursor.
import type { SelectQueryBuilder } from 'kysely';
import { ImgdError } from '../core/errors.js';
import type { ImageRecord, ImageSort } from '../core/images/image.js';
import type { Database } from './schema.js';

interface Order {
  readonly column: 'created_at' | 'filename' | 'bytes' | 'trashed_at';
  readonly direction: 'asc' | 'desc';
  readonly value: (image: ImageRecord) => string | number;
}

const ORDERS: Record<ImageSort | 'trashed', Order> = {
  newest: { column: 'created_at', direction: 'desc', value: (i) => i.createdAt },
  oldest: { column: 'created_at', direction: 'asc', value: (i) => i.createdAt },
  name: { column: 'filename', direction: 'asc', value: (i) => i.filename },
  size: { column: 'bytes', direction: 'desc', value: (i) => i.bytes },
  /** The trash: most recently trashed first. */
  trashed: { column: 'trashed_at', direction: 'desc', value: (i) => i.trashedAt ?? '' },
};

export type ListOrder = keyof typeof ORDERS;

const invalidCursor = (): ImgdError => new ImgdError('invalid_cursor', 'The cursor is not one this server handed out.');

/** A cursor names its order, so one handed out for another order is refused rather than misread. */
export function encodeCursor(order: ListOrder, last: ImageRecord): string {
  const o = ORDERS[order];
  return Buffer.from(JSON.stringify(order === 'newest' ? [last.createdAt, last.id] : [order, o.value(last), last.id])).toString('base64url');
}

function decodeCursor(order: ListOrder, cursor: string): [string | number, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(parsed)) throw invalidCursor();
  // Cursors of newest-first lists have always been [created_at, id]: those handed out before the other orders still work.
  const [named, value, id] = parsed.length === 2 ? ['newest', parsed[0], parsed[1]] : parsed;
  const expected = ORDERS[order].column === 'bytes' ? 'number' : 'string';
  if (named !== order || typeof value !== expected || typeof id !== 'string') throw invalidCursor();
  return [value as string | number, id];
}

type ImagesQuery = SelectQueryBuilder<Database, 'images', object>;

/** Orders the query and starts it after the cursor's row. */
export function ordered<Q extends ImagesQuery>(query: Q, order: ListOrder, cursor: string | undefined): Q {
  const { column, direction } = ORDERS[order];
  let q = query;
  if (cursor !== undefined) {
    const [value, id] = decodeCursor(order, cursor);
    const past = direction === 'desc' ? '<' : '>';
    q = q.where((eb) => eb.or([eb(column, past, value), eb.and([eb(column, '=', value), eb('id', past, id)])])) as Q;
  }
  return q.orderBy(column, direction).orderBy('id', direction) as Q;
}
