// Table types for Kysely: the database as the code sees it, on SQLite and PostgreSQL alike.
import type { Generated } from 'kysely';

export interface BlobsTable {
  sha256: string;
  bytes: number;
  format: string;
  content_type: string;
  width: number;
  height: number;
  ref_count: number;
  created_at: string;
}

export interface ImagesTable {
  id: string;
  filename: string;
  /** The random key of the image's URL (migration 006); unique. */
  url_key: string;
  original_name: string | null;
  sha256: string;
  format: string;
  content_type: string;
  bytes: number;
  width: number;
  height: number;
  frames: number;
  status: string;
  error: string | null;
  visibility: string;
  key: string | null;
  description: string | null;
  owner_id: string | null;
  exif: string | null;
  placeholder: string | null;
  has_alpha: number;
  caption: string | null;
  created_at: string;
  updated_at: string;
  /** When the image went to the trash (migration 010); null while it is in the library. */
  trashed_at: string | null;
}

/** An album of one owner (null: the admin token's); its images in album_images (migration 010). */
export interface AlbumsTable {
  id: string;
  owner_id: string | null;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface AlbumImagesTable {
  id: string;
  album_id: string;
  image_id: string;
  added_at: string;
}

export interface ProcessingRunsTable {
  id: string;
  image_id: string;
  step: string;
  ok: number;
  duration_ms: number;
  at: string;
}

export interface AttemptsTable {
  id: string;
  image_id: string | null;
  original_name: string | null;
  outcome: string;
  code: string | null;
  reason: string | null;
  bytes: number | null;
  duration_ms: number;
  created_at: string;
  day: string;
}

export interface JobsTable {
  id: string;
  type: string;
  payload: string;
  status: string;
  attempts: Generated<number>;
  max_attempts: number;
  run_at: string;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  role: string;
  created_at: string;
  updated_at: string;
  session_generation: Generated<number>;
  disabled_at: Generated<string | null>;
}

export interface BrowserSessionsTable {
  id: string;
  hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface UploadTokensTable {
  id: string;
  hash: string;
  created_by: string | null;
  owner_id: string | null;
  key: string | null;
  max_bytes: number | null;
  single_use: number;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

export interface InvitesTable {
  id: string;
  hash: string;
  created_by: string | null;
  role: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
  created_at: string;
}

export interface AuditLogTable {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  details: string | null;
}

/** Seed 002's integer ids, given by an insert trigger (migration 005); kept when the image or user goes. */
export interface ImageNumbersTable {
  number: number;
  image_id: string;
}

export interface UserNumbersTable {
  number: number;
  user_id: string;
}

/** An upload attempt (its id in `attempts`) that came through a compatibility profile. */
export interface ProfileAttemptsTable {
  id: string;
  profile: string;
  created_at: string;
}

/** A resumable (tus) upload: who started it, how far it got, and what it became. */
export interface ResumableUploadsTable {
  id: string;
  creator: string;
  length: number;
  received: number;
  metadata: string;
  /** 'receiving', 'completing' (claimed by the request that checks and stores it, at claimed_at) or 'done'. */
  state: string;
  claimed_at: string | null;
  image_id: string | null;
  created_at: string;
  expires_at: string;
}

/** A staged part of a resumable upload's bytes; `id` is the part's blob key under staging/uploads/. */
export interface ResumableUploadPartsTable {
  id: string;
  upload_id: string;
  start: number;
  bytes: number;
}

/** An Idempotency-Key of one credential, with the answer it got once done. */
export interface IdempotencyKeysTable {
  id: string;
  fingerprint: string;
  /** 'running' until the first request answered, then 'done'. */
  state: string;
  status: number | null;
  headers: string | null;
  body: string | null;
  created_at: string;
  /** A running key whose request is older than this was abandoned (a crash) and may be taken over. */
  held_until: string;
  expires_at: string;
}

/** A subscription (migration 008); `secret` signs its deliveries and never leaves the server after creation. */
export interface WebhooksTable {
  id: string;
  owner_id: string | null;
  url: string;
  /** JSON array of event types. */
  events: string;
  all_images: number;
  secret: string;
  created_at: string;
}

/** One event for one webhook; `id` is the webhook-id every try sends, `body` the exact bytes every try sends. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  image_id: string;
  body: string;
  status: string;
  attempts: number;
  created_at: string;
  updated_at: string;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: string;
}

/** One row (id 1): moved by the database on every change to what serving reads of an image (migration 011). */
export interface ServingChangesTable {
  id: number;
  /** BIGINT: a string from PostgreSQL, a number from SQLite. */
  version: string | number;
}

export interface Database {
  blobs: BlobsTable;
  images: ImagesTable;
  attempts: AttemptsTable;
  jobs: JobsTable;
  users: UsersTable;
  browser_sessions: BrowserSessionsTable;
  api_keys: ApiKeysTable;
  upload_tokens: UploadTokensTable;
  invites: InvitesTable;
  audit_log: AuditLogTable;
  processing_runs: ProcessingRunsTable;
  image_numbers: ImageNumbersTable;
  user_numbers: UserNumbersTable;
  profile_attempts: ProfileAttemptsTable;
  resumable_uploads: ResumableUploadsTable;
  resumable_upload_parts: ResumableUploadPartsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  albums: AlbumsTable;
  album_images: AlbumImagesTable;
  serving_changes: ServingChangesTable;
}
