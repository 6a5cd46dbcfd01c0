// The shapes of the JSON API that the UI reads (see src/http/image-view.ts and src/http/routes/*.ts).
import type { components, operations } from '../../client/openapi';

export type ImageStatus = 'processing' | 'ready' | 'failed';
export type Visibility = 'public' | 'private';
export type Scope = 'read' | 'upload' | 'delete' | 'admin';

/** The image object (the OpenAPI document's Image schema, as the generated client types it). */
export type Image = components['schemas']['Image'];

export interface ImagePage {
  items: Image[];
  next_cursor: string | null;
}

export type ImageSort = 'newest' | 'oldest' | 'name' | 'size';

export interface TrashedImage extends Image {
  trashed_at: string;
  purge_at: string;
}

export interface Album {
  id: string;
  name: string;
  owner_id: string | null;
  image_count: number;
  cover: Image | null;
  created_at: string;
  updated_at: string;
}

export type BulkAction = 'trash' | 'restore' | 'purge' | 'set_visibility' | 'add_to_album' | 'remove_from_album';

export interface BulkResult {
  id: string;
  ok: boolean;
  status: number;
  code?: string;
  detail?: string;
}

export interface Me {
  id: string | null;
  username: string | null;
  email: string | null;
  role: 'admin' | 'user' | null;
  credential: 'session' | 'api_key' | 'admin_token' | 'upload_token';
  scopes: Scope[];
}

export interface User {
  id: string;
  username: string;
  email: string;
  role: 'admin' | 'user';
  created_at: string;
  disabled?: boolean;
}

/** A signed-in browser (GET /api/v1/auth/sessions). */
export type BrowserSession = operations['listSessions']['responses'][200]['content']['application/json']['items'][number];

/** One row of the admin's settings page. */
export interface SettingItem {
  name: string;
  value: string | number | boolean | Array<string | number> | null;
  source: 'env' | 'file' | 'default';
  from: string | null;
  secret: boolean;
  note?: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  user_id: string;
  created_at: string;
  last_used_at: string | null;
}

export interface StepStats {
  runs: number;
  failed: number;
  average_ms: number | null;
  p95_ms: number | null;
}

export interface Stats {
  total: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  average_processing_ms: number | null;
  per_day: DayStats[];
  processing: Record<string, StepStats>;
  storage: { images: number; image_bytes: number; blobs: number; stored_bytes: number };
  queue: Record<string, number>;
}

export interface DayStats {
  day: string;
  total: number;
  failed: number;
  bytes: number;
  average_processing_ms: number | null;
}

export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: Record<string, { ok: boolean; error?: string }>;
}

/** What the server tells the UI in the shell's <meta name="imgd-config">. */
export interface Settings {
  registration: 'open' | 'closed' | 'invite';
  maxFileSize: number;
  maxFiles: number;
  formats: string[];
  processing: boolean;
  shareMaxSeconds: number;
}
