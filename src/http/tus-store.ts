// @tus/server's view of imgd's resumable uploads: a DataStore over the core use case, and the context of the request
// being handled (who asks, the checksum it sent, how it was refused), which the protocol handlers do not pass along.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import { DataStore, ERRORS, Upload } from '@tus/server';
import type { ImgdError } from '../core/errors.js';
import type { Resumable } from '../core/upload/resumable.js';
import type { Actor } from '../core/access/actor.js';

export interface TusRequestContext {
  readonly actor: Actor;
  /** principalOf(actor): who a new upload belongs to. */
  readonly principal: string;
  readonly ip: string;
  /** The SHA-256 the body must have (Upload-Checksum), if the client sent one. */
  readonly checksum: Buffer | undefined;
  /** How the request was refused, in imgd's terms, when a hook or the store refused it. */
  failure?: ImgdError;
}

export const tusRequests = new AsyncLocalStorage<TusRequestContext>();

function current(): TusRequestContext {
  const context = tusRequests.getStore();
  if (!context) throw new Error('a tus store call outside a request');
  return context;
}

/** The extensions imgd implements (checksum in the route, before the store sees the body's end). */
export const TUS_EXTENSIONS = ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum'];

export class ResumableDataStore extends DataStore {
  constructor(private readonly resumable: Resumable) {
    super();
    this.extensions = TUS_EXTENSIONS;
  }

  override async create(upload: Upload): Promise<Upload> {
    const record = await this.resumable.create({ id: upload.id, creator: current().principal, length: upload.size ?? 0, metadata: upload.metadata ?? {} });
    upload.creation_date = record.createdAt;
    return upload;
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    return this.resumable.append(id, offset, stream, current().checksum);
  }

  override async getUpload(id: string): Promise<Upload> {
    const record = await this.resumable.find(id);
    if (!record) throw ERRORS.FILE_NOT_FOUND;
    return new Upload({ id, size: record.length, offset: record.received, metadata: { ...record.metadata }, creation_date: record.createdAt });
  }

  override async remove(id: string): Promise<void> {
    await this.resumable.terminate(id);
  }

  override async declareUploadLength(): Promise<void> {
    throw ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION;
  }

  override getExpiration(): number {
    return this.resumable.expiryMs;
  }

  override async deleteExpired(): Promise<number> {
    return this.resumable.removeExpired();
  }
}
