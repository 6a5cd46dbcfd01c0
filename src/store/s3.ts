// The S3-compatible blob store (AWS S3, MinIO, Cloudflare R2, Garage): streamed multipart writes, ranged reads, presigned GETs.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ImgdError, isImgdError } from '../core/errors.js';
import type { BlobInfo, BlobStore, ByteRange } from '../core/storage/blob-store.js';

export interface S3StoreOptions {
  readonly bucket: string;
  /** For anything but AWS itself, e.g. http://127.0.0.1:9000 (MinIO) or https://<account>.r2.cloudflarestorage.com. */
  readonly endpoint?: string;
  readonly region: string;
  /** With secretAccessKey; both absent means the SDK's default chain (environment, profile, instance role). */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** http://host/bucket/key instead of http://bucket.host/key: MinIO and Garage need it. */
  readonly forcePathStyle: boolean;
  /** Prepended to every key (e.g. 'imgd/') so imgd can share a bucket. */
  readonly prefix?: string;
  /** Keys per ListObjectsV2 page; S3 caps it at 1000, smaller values exist for tests. */
  readonly pageSize?: number;
}

export type S3Store = BlobStore;

const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
const MAX_ATTEMPTS = 3;
// Without these an unreachable or stalled server holds a request (and the upload or response behind it) forever.
const CONNECT_TIMEOUT_MS = 5_000;
const SOCKET_IDLE_TIMEOUT_MS = 30_000;

interface ServiceFailure {
  readonly name?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const httpStatus = (err: unknown): number | undefined => (err as ServiceFailure | null)?.$metadata?.httpStatusCode;

/** A 404 about the key; a missing bucket is a configuration problem, not a missing blob. */
const isMissingKey = (err: unknown): boolean => httpStatus(err) === 404 && (err as ServiceFailure).name !== 'NoSuchBucket';

function createClient(options: S3StoreOptions): S3Client {
  const { accessKeyId, secretAccessKey } = options;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new Error('S3 needs both an access key id and a secret access key, or neither.');
  }
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({ connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS }),
    // Only the checksums an operation demands: several S3-compatible servers reject or mis-store the SDK's default checksum trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function keyPrefixOf(prefix: string | undefined): string {
  if (!prefix) return '';
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

function rangeHeader(range: ByteRange | undefined): string | undefined {
  return range ? `bytes=${range.start}-${range.end}` : undefined;
}

function asReadable(body: unknown, key: string): Readable {
  if (body instanceof Readable) return body;
  throw new Error(`S3 returned no readable body for ${key}.`);
}

/** The S3 service failing (unreachable, timing out, answering 5xx) as clients should see it: 503; the cause goes to the log. */
function outage(err: unknown): unknown {
  const status = httpStatus(err);
  if (isImgdError(err) || (status !== undefined && status < 500)) return err;
  const unavailable = new ImgdError('unavailable', 'The image store cannot be reached right now; try again later.');
  unavailable.cause = err;
  return unavailable;
}

/** The source stream's own failure explains a failed upload better than a later failure to abort it. */
function sourceFirst(sourceError: unknown, uploadError: unknown): unknown {
  if (sourceError === undefined || sourceError === uploadError) return uploadError;
  if (sourceError instanceof Error && sourceError.cause === undefined) sourceError.cause = uploadError;
  return sourceError;
}

export function createS3Store(options: S3StoreOptions): S3Store {
  const client = createClient(options);
  const Bucket = options.bucket;
  const keyPrefix = keyPrefixOf(options.prefix);
  const where = `S3 bucket "${Bucket}"${options.endpoint ? ` at ${options.endpoint}` : ''}`;

  const fullKey = (key: string): string => keyPrefix + key;

  /** Streams body to key; S3 shows the object only once the upload completes, and a failed multipart upload is aborted. */
  async function upload(key: string, body: Readable): Promise<void> {
    let sourceError: unknown;
    body.on('error', (err) => {
      sourceError ??= err;
    });
    const transfer = new Upload({
      client,
      params: { Bucket, Key: fullKey(key), Body: body },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await transfer.done();
    } catch (err) {
      body.destroy();
      throw sourceError === undefined ? outage(err) : sourceFirst(sourceError, err);
    }
  }

  function bucketProblem(err: unknown): ImgdError {
    const status = httpStatus(err);
    if (status === 404) return new ImgdError('unavailable', `${where} does not exist.`);
    if (status === 401 || status === 403) {
      return new ImgdError('unavailable', `${where} refused access: check the access key, the secret key and the bucket's permissions.`);
    }
    if (status === 301) return new ImgdError('unavailable', `${where} is not in region ${options.region}.`);
    const answer = status ? `HTTP ${status}` : (err as Error).message;
    return new ImgdError('unavailable', `${where} cannot be used: ${answer}`);
  }

  async function stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket, Key: fullKey(key) }));
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissingKey(err)) return undefined;
      throw outage(err);
    }
  }

  return {
    async putFile(key, localPath) {
      await upload(key, createReadStream(localPath));
    },

    async put(key, body) {
      await upload(key, body);
    },

    async putBytes(key, bytes) {
      await client.send(new PutObjectCommand({ Bucket, Key: fullKey(key), Body: bytes, ContentLength: bytes.length })).catch((err: unknown) => {
        throw outage(err);
      });
    },

    async get(key, range) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket, Key: fullKey(key), Range: rangeHeader(range) }));
        return asReadable(object.Body, key);
      } catch (err) {
        if (isMissingKey(err)) throw new ImgdError('not_found', `No blob ${key}.`);
        if (httpStatus(err) === 416) throw new ImgdError('range_not_satisfiable', `Range ${rangeHeader(range)} is outside blob ${key}.`);
        throw outage(err);
      }
    },

    stat,

    async exists(key) {
      return (await stat(key)) !== undefined;
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: fullKey(key) })).catch((err: unknown) => {
        throw outage(err);
      });
    },

    async *list(prefix) {
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket, Prefix: fullKey(prefix), ContinuationToken, MaxKeys: options.pageSize }),
        );
        for (const object of page.Contents ?? []) {
          // Keys ending in '/' are folder markers some consoles create, never blobs.
          if (!object.Key || object.Key.endsWith('/')) continue;
          yield { key: object.Key.slice(keyPrefix.length), size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },

    async check() {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch (err) {
        throw bucketProblem(err);
      }
    },
  };
}
