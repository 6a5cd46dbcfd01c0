// Serving: what the bytes and facts of an image or one of its variants are for an actor (access, variant plan, render or fetch).
import type { Readable } from 'node:stream';
import { readBlob, type BlobStore, type ByteRange } from '../storage/blob-store.js';
import { originalKey } from '../storage/blob-keys.js';
import { HotCache } from '../variants/hot-cache.js';
import type { ImageAddress, Images } from './images.js';
import type { Actor } from '../access/actor.js';
import type { ImageRecord } from './image.js';
import type { FormatChooser, TransformQuery } from '../variants/variant-options.js';
import type { Variants } from '../variants/variants.js';

/** A variant asked for: a preset by name, or `custom` (undefined) with its parameters; the format by the client's preference. */
export interface VariantAsk {
  readonly preset: string | undefined;
  readonly query: TransformQuery;
  readonly choose: FormatChooser;
}

export interface ServeAsk {
  readonly actor: Actor;
  readonly address: ImageAddress;
  /** A share link's check, when the URL carries one. */
  readonly shared?: ((image: ImageRecord) => boolean) | undefined;
  readonly variant?: VariantAsk | undefined;
}

/** What a URL answers with: the facts HTTP needs for its headers, and the bytes when they are wanted. */
export interface Served {
  readonly image: ImageRecord;
  /** Where the bytes live in the store (an offloading proxy reads them there). */
  readonly blobKey: string;
  /** Strong: the bytes under a blob key never change. */
  readonly etag: string;
  readonly size: number;
  readonly contentType: string;
  readonly lastModified: Date;
  readonly isPublic: boolean;
  /** The format followed the client's Accept header: shared caches must vary on it. */
  readonly negotiated: boolean;
  /** The bytes (or a range of them): small files read in one call (public ones kept in memory), large ones streamed. */
  body(range?: ByteRange): Promise<Buffer | Readable>;
}

export interface Serving {
  serve(ask: ServeAsk): Promise<Served>;
  /** An original whose access the caller decided itself (the COMPAT profiles' own routes). */
  original(image: ImageRecord): Served;
  /** Bytes held in memory under a blob key, for answers replayed without the router. */
  hot(blobKey: string): Buffer | undefined;
  /** Whether a blob of this size is read whole (and, when public, kept in memory); larger ones are streamed. */
  whole(size: number): boolean;
  /**
   * The bytes of a public blob served before (its access decided by the caller), read whole from the store and kept in
   * memory while it has room (what the router reads first may take the place of others); undefined when they are not
   * what was served (a blob of another size).
   */
  load(blobKey: string, facts: { readonly size: number; readonly contentType: string; readonly etag: string }): Promise<Buffer | undefined>;
  /** Bytes held in memory, for /metrics. */
  readonly heldBytes: number;
}

export interface ServingDeps {
  readonly images: Pick<Images, 'findServable'>;
  readonly variants: Pick<Variants, 'plan' | 'get'>;
  readonly store: BlobStore;
  readonly hot?: HotCache;
}

const slice = (bytes: Buffer, range: ByteRange | undefined): Buffer => (range ? bytes.subarray(range.start, range.end + 1) : bytes);

export function createServing(deps: ServingDeps): Serving {
  const { images, variants, store } = deps;
  const hot = deps.hot ?? new HotCache();

  /**
   * Bytes that fit the hot cache's item size are read in one call (kept when public); larger ones are streamed.
   * `inMemory`: what the caller holds already (a variant rendered just now).
   */
  function bodyOf(key: string, facts: { size: number; contentType: string; etag: string; isPublic: boolean }, inMemory?: Buffer) {
    return async (range?: ByteRange): Promise<Buffer | Readable> => {
      if (inMemory) {
        if (facts.isPublic && hot.admits(inMemory.length)) await hot.load(key, facts, async () => inMemory);
        return slice(inMemory, range);
      }
      if (!hot.admits(facts.size)) return store.get(key, range);
      const read = (): Promise<Buffer> => readBlob(store, key, facts.size);
      const bytes = facts.isPublic ? (await hot.load(key, facts, read)).body : await read();
      return slice(bytes, range);
    };
  }

  function original(image: ImageRecord): Served {
    const key = originalKey(image.sha256);
    const facts = { size: image.bytes, contentType: image.contentType, etag: `"${image.sha256}"`, isPublic: image.visibility === 'public' };
    return { image, blobKey: key, ...facts, lastModified: new Date(image.createdAt), negotiated: false, body: bodyOf(key, facts) };
  }

  async function variant(image: ImageRecord, ask: VariantAsk): Promise<Served> {
    const plan = variants.plan(image, ask.preset, ask.query, ask.choose);
    const isPublic = image.visibility === 'public';
    const common = { image, blobKey: plan.key, lastModified: new Date(image.createdAt), isPublic, negotiated: plan.negotiated };
    // Only public bytes are held in memory; the access check above runs on every request either way.
    const held = isPublic ? hot.get(plan.key) : undefined;
    if (held) {
      const facts = { size: held.body.length, contentType: held.contentType, etag: held.etag, isPublic };
      return { ...common, ...facts, body: async (range) => slice(held.body, range) };
    }
    const rendered = await variants.get(image, plan);
    const facts = { size: rendered.size, contentType: rendered.contentType, etag: rendered.etag, isPublic };
    return { ...common, ...facts, body: bodyOf(plan.key, facts, rendered.bytes) };
  }

  return {
    async serve(ask) {
      const image = await images.findServable(ask.actor, ask.address, ask.shared);
      return ask.variant ? variant(image, ask.variant) : original(image);
    },
    original,
    hot: (blobKey) => hot.get(blobKey)?.body,
    whole: (size) => hot.admits(size),
    async load(blobKey, { size, contentType, etag }) {
      const held = hot.get(blobKey);
      if (held) return held.body;
      const body = await readBlob(store, blobKey, size);
      if (body.length !== size) return undefined;
      hot.keepIfRoom(blobKey, { body, contentType, etag });
      return body;
    },
    get heldBytes() {
      return hot.size.bytes;
    },
  };
}
