// Type declarations for gridledger-mobile-api (see README.md for the guide).

export type PushStatus = 'accepted' | 'duplicate' | 'rejected' | 'deferred' | 'conflict' | 'review';

/** What an adapter's HTTP call resolves to: the status and the parsed JSON body (or null). */
export interface HttpResponse {
  status: number;
  data: any;
}

export interface RequestArgs {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** A JSON-able body; the adapter serialises it and sets content-type. */
  body?: unknown;
  timeoutMs?: number;
}

export interface UploadArgs {
  url: string;
  filePath: string;
  /** Always "file" for POST /v1/media. */
  name: string;
  formData: Record<string, string>;
  headers: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Key-value persistence. `set` must replace the value of one key atomically (the old value or
 * the new one survives a crash, never a mix): wx.setStorage does; the Node and wx file
 * adapters write a temporary file and rename it.
 */
export interface StorageAdapter {
  get(key: string): Promise<any | undefined>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}

export interface Adapters {
  /** Throws (rejects) only when no answer arrived; HTTP errors resolve with their status. */
  request(args: RequestArgs): Promise<HttpResponse>;
  storage: StorageAdapter;
  /** wx.uploadFile or equivalent; needed for photos. */
  uploadFile?(args: UploadArgs): Promise<HttpResponse>;
  /** Reads a local file (photo) as bytes; needed for photos. */
  files?: { read(path: string): Promise<Uint8Array | ArrayBuffer> };
  /** Lowercase hex SHA-256; defaults to the SDK's JavaScript implementation. */
  sha256?(bytes: Uint8Array): Promise<string>;
  /** wx.login: resolves to the login code; needed for wxLogin. */
  login?(): Promise<string>;
  /** Milliseconds since the epoch (default Date.now). */
  now?(): number;
  sleep?(ms: number): Promise<void>;
  /** Uniform [0, 1) for backoff jitter (default Math.random). */
  random?(): number;
  /** Random bytes for UUIDv7 (default crypto.getRandomValues, else Math.random). */
  randomBytes?(n: number): Uint8Array;
}

export interface BackoffOptions {
  /** First ceiling in ms (default 500). */
  baseMs?: number;
  /** Largest wait in ms (default 60000). */
  capMs?: number;
  /** Tries before giving up, first included (default 6). */
  attempts?: number;
}

export interface ClientOptions {
  /** Server origin, e.g. "https://grid.example.cn" (no /v1). */
  baseUrl: string;
  adapters: Adapters;
  /** A stable id for this phone; by default one is made and kept in storage. ≤ 64 chars. */
  deviceId?: string;
  /** Ops per pull page, 1–1000 (default 500). */
  pageLimit?: number;
  backoff?: BackoffOptions;
  storePrefix?: string;
}

export interface Session {
  access_token: string;
  refresh_token: string;
  expires_at: number;
  staff_id: string;
  role: 'admin' | 'supervisor' | 'auditor' | 'grid_head' | 'grid_member' | 'mediator' | string;
  scope_unit_id: string;
  name: string;
  device_id: string;
}

export interface MediaRef {
  sha256: string;
  size: number;
  mime: string;
}

export interface PreparedPhoto extends MediaRef {
  path: string;
}

/** A row shown before the server's copy arrives; `deleted: true` hides a row. */
export interface OptimisticRow {
  kind: string;
  id: string;
  data?: unknown;
  deleted?: boolean;
  /** Lets `list(kind, {bucket})` place a new row in a bucket. */
  bucket?: string;
}

export interface CaptureOptions {
  /** household.edited only: the `version` of the household the user edited. */
  baseVersion?: number;
  media?: MediaRef[];
  photos?: PreparedPhoto[];
  optimistic?: OptimisticRow[];
}

export interface OutboxEntry {
  event_id: string;
  device_seq: number;
  type: string;
  captured_at: string;
  payload: Record<string, unknown>;
  media: MediaRef[];
  base_version?: number;
}

export interface PushResult {
  event_id: string;
  status: PushStatus;
  errcode?: number;
  reason?: string;
  waiting_for?: { kind: string; id: string }[];
  position?: number;
}

export interface ResultEvent extends PushResult {
  type: string;
  deviceSeq: number;
}

export interface PushSummary {
  sent: number;
  results: PushResult[];
  writeCheckpoint: number | null;
}

export interface PullSummary {
  pages: number;
  put: number;
  removed: number;
  projectedThrough: number;
}

export interface PhotoSummary {
  uploaded: number;
  failed: number;
  retry: number;
}

export interface EventStatus {
  event_id: string;
  type: string;
  status: PushStatus;
  errcode?: number;
  reason?: string;
  waiting_for: { kind: string; id: string }[];
  position?: number;
}

export interface ClientEvents {
  captured: { eventId: string; type: string; deviceSeq: number };
  result: ResultEvent;
  conflict: ResultEvent;
  rejected: ResultEvent;
  pushed: { count: number; writeCheckpoint: number; clockOffsetMs: number };
  page: { ops: number; removed: { kind: string; id: string }[]; projectedThrough: number };
  scope: { added: string[]; removed: string[] };
  reset: { buckets: string[] | 'all'; errcode?: number };
  status: EventStatus;
  reflected: { eventId: string; status: PushStatus };
  pulled: PullSummary;
  photo: { sha256: string; eventId: string; kind: 'uploaded' | 'failed' | 'retry'; created?: boolean; errcode?: number; errmsg?: string };
  retry: { path: string; attempt: number; delayMs: number; error: Error };
  session: { staffId: string; role: string };
  loggedOut: { errcode?: number; errmsg?: string };
  listenerError: { event: string; error: unknown };
}

export class SyncClient {
  constructor(options: ClientOptions);
  readonly deviceId: string;
  readonly session: Session | null;
  readonly store: LocalStore;
  readonly outbox: Outbox;
  open(): Promise<this>;
  wxLogin(options?: { bindingCode?: string }): Promise<Session>;
  devLogin(staffId: string): Promise<Session>;
  logout(): Promise<void>;
  preparePhoto(path: string, mime?: string): Promise<PreparedPhoto>;
  capture(type: string, payload: Record<string, unknown>, options?: CaptureOptions): Promise<OutboxEntry>;
  recordVisit(payload: Record<string, unknown>, options?: CaptureOptions): Promise<OutboxEntry>;
  reportCase(payload: Record<string, unknown>, options?: CaptureOptions): Promise<OutboxEntry>;
  registerHousehold(payload: Record<string, unknown>, options?: CaptureOptions): Promise<OutboxEntry>;
  editHousehold(
    householdId: string,
    changes: { path: string; value: string | null }[],
    baseVersion: number,
    options?: CaptureOptions,
  ): Promise<OutboxEntry>;
  push(): Promise<PushSummary>;
  pull(): Promise<PullSummary>;
  uploadPhotos(): Promise<PhotoSummary>;
  sync(): Promise<{ pushed: PushSummary; pulled: PullSummary; photos: PhotoSummary }>;
  get(kind: string, id: string): any | undefined;
  list(kind: string, options?: { bucket?: string }): { id: string; data: any }[];
  eventStatus(eventId: string): EventStatus | undefined;
  on<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): void;
}

export function createClient(options: ClientOptions): SyncClient;

export interface StoredRow {
  kind: string;
  id: string;
  data: any;
  buckets: string[];
}

export class LocalStore {
  constructor(options: { storage: StorageAdapter; prefix?: string; compactAfter?: number });
  readonly cursor: string | null;
  readonly projectedThrough: number;
  readonly size: number;
  open(): Promise<this>;
  applyPage(page: unknown): Promise<{ put: number; removed: { kind: string; id: string }[]; dropped: number }>;
  compact(): Promise<void>;
  wipe(): Promise<void>;
  get(kind: string, id: string): any | undefined;
  list(kind?: string, options?: { bucket?: string }): StoredRow[];
  bucketNames(): string[];
}

export class Outbox {
  readonly pending: (OutboxEntry & { optimistic?: OptimisticRow[] })[];
  batch(max?: number, maxBytes?: number): OutboxEntry[];
}

export class ApiError extends Error {
  status: number;
  errcode?: number;
  errmsg?: string;
  body: Record<string, unknown>;
  retryable: boolean;
}

export class NetworkError extends Error {
  retryable: true;
}

export class CaptureError extends TypeError {}

export const PROTOCOL: 1;
export function backoffDelay(attempt: number, options?: BackoffOptions & { random?: () => number }): number;
export function retry<T>(
  task: (attempt: number) => Promise<T>,
  options?: BackoffOptions & {
    isRetryable?: (error: any) => boolean;
    sleep?: (ms: number) => Promise<void>;
    onRetry?: (info: { attempt: number; delayMs: number; error: any }) => void;
    random?: () => number;
  },
): Promise<T>;
export function sha256Hex(bytes: Uint8Array | ArrayBuffer): string;
export function uuid7Factory(options?: { now?: () => number; randomBytes?: (n: number) => Uint8Array }): () => string;
