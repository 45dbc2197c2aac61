import type { ColumnType, Generated } from 'kysely';

/**
 * Calibre-Web app.db (ub.py models, docs/UPSTREAM.md#calibre-web-users-and-roles; DDL in
 * schema/app-db.sql). Datetimes are SQLAlchemy text.
 */
export interface UserTable {
  id: Generated<number>;
  name: string | null;
  email: string | null;
  role: number | null;
  password: string | null;
}

export interface BookReadLinkTable {
  id: Generated<number>;
  book_id: number | null;
  user_id: number | null;
  read_status: number;
  last_modified: string | null;
  last_time_started_reading: string | null;
  times_started_reading: number;
}

export interface KoboReadingStateTable {
  id: Generated<number>;
  user_id: number | null;
  book_id: number | null;
  last_modified: string | null;
  priority_timestamp: string | null;
}

export interface KoboBookmarkTable {
  id: Generated<number>;
  kobo_reading_state_id: number | null;
  last_modified: string | null;
  location_source: string | null;
  location_type: string | null;
  location_value: string | null;
  progress_percent: number | null;
  content_source_progress_percent: number | null;
}

export interface KoboStatisticsTable {
  id: Generated<number>;
  kobo_reading_state_id: number | null;
  last_modified: string | null;
  remaining_time_minutes: number | null;
  spent_reading_minutes: number | null;
}

/** CWA's progress table (models.py KOSyncProgress, docs/UPSTREAM.md#cwa-kosync_progress); percentage on the 0–100 scale. */
export interface KosyncProgressTable {
  id: Generated<number>;
  user_id: number;
  document: string;
  progress: string;
  percentage: number;
  device: string;
  device_id: string | null;
  timestamp: string | null;
}

/** The single `settings` row; only the columns the sidecar reads (all may be missing in old files). */
export interface SettingsTable {
  id: number;
  config_calibre_dir: string | null;
}

export interface AppDatabase {
  user: UserTable;
  book_read_link: BookReadLinkTable;
  kobo_reading_state: KoboReadingStateTable;
  kobo_bookmark: KoboBookmarkTable;
  kobo_statistics: KoboStatisticsTable;
  kosync_progress: KosyncProgressTable;
  settings: SettingsTable;
}

/** A column the sidecar may select but never insert or update: metadata.db is calibre's. */
type ReadOnlyColumn<T> = ColumnType<T, never, never>;
type ReadOnlyTable<T> = { readonly [K in keyof T]: ReadOnlyColumn<T[K]> };

/** Calibre's metadata.db (schema/metadata-db.sql), typed read-only. */
export interface CalibreDatabase {
  books: ReadOnlyTable<{ id: number; title: string; path: string; author_sort: string | null }>;
  data: ReadOnlyTable<{ id: number; book: number; format: string; uncompressed_size: number; name: string }>;
  authors: ReadOnlyTable<{ id: number; name: string; sort: string | null }>;
  books_authors_link: ReadOnlyTable<{ id: number; book: number; author: number }>;
  /** calibre's custom columns; each one's values are in a table `custom_column_<id>` of its own. */
  custom_columns: ReadOnlyTable<{ id: number; label: string; name: string; datatype: string; mark_for_delete: number }>;
  /** CWA's checksum table; present only where CWA's KOReader sync was enabled. */
  book_format_checksums: ReadOnlyTable<{
    id: number;
    book: number;
    format: string;
    checksum: string;
    version: string;
    created: string | null;
  }>;
}

/** The state DB's `sync_keys` (schema/state/001-sync-keys.sql): one stock-KOReader key verifier per user. */
export interface SyncKeysTable {
  user_id: number;
  user_name: string;
  verifier: string;
  password_fingerprint: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  /** The last password login that matched the key (schema/state/003-key-confirmation.sql). */
  confirmed_at: string | null;
}

/** The checksum index's `library_files` (schema/state/002-checksum-index.sql): every library file as last scanned. */
export interface LibraryFilesTable {
  data_id: number;
  book_id: number;
  format: string;
  path: string;
  download_name: string;
  size: number | null;
  mtime_ms: number | null;
  /** The file's KOReader partial MD5; null while the file is missing on disk. */
  checksum: string | null;
  scanned_at: string;
}

/**
 * How a document id was learnt (schema/state/002-checksum-index.sql, 004-download-ids-and-user-aliases.sql):
 * the partial MD5 of a library file, the md5 of a file name, the partial MD5 of a file as Calibre-Web
 * served it (the download tap), or one user's KOReader metadata (an alias for that user).
 */
export type DocumentMethod = 'binary' | 'filename' | 'download' | 'metadata';

/** The checksum index's `document_ids`: every document id ever seen for a book and format, by method. */
export interface DocumentIdsTable {
  id: Generated<number>;
  document: string;
  book_id: number;
  format: string;
  method: DocumentMethod;
  detail: string | null;
  first_seen: string;
  last_seen: string;
  /** 0: holds for everyone; else the app.db user whose KOReader metadata taught it (schema/state/004-…). */
  user_id: Generated<number>;
}

/** `unmatched_documents` (schema/state/004-download-ids-and-user-aliases.sql): a user's pushes that matched no book. */
export interface UnmatchedDocumentsTable {
  user_id: number;
  document: string;
  title: string | null;
  authors: string | null;
  filename: string | null;
  reason: string;
  first_seen: string;
  last_seen: string;
}

/** `progress_history` (schema/state/005-history-links-sessions.sql): every accepted push, the newest few per (user, document). */
export interface ProgressHistoryTable {
  id: Generated<number>;
  user_id: number;
  document: string;
  progress: string;
  /** 0–100, as kosync_progress stores it. */
  percentage: number;
  device: string;
  device_id: string | null;
  timestamp: string;
}

/** `document_links` (schema/state/005-…): a document a reader linked to a book by hand, for that reader alone. */
export interface DocumentLinksTable {
  user_id: number;
  document: string;
  book_id: number;
  format: string;
  linked_at: string;
}

/** `sessions` (schema/state/005-…): the account page's signed-in sessions, by the sha256 of their cookie's id. */
export interface SessionsTable {
  id_hash: string;
  user_id: number;
  password_fingerprint: string;
  created_at: string;
  expires_at: string;
}

/** `server_secrets` (schema/state/005-…): keys made once, e.g. the session cookie's signing key. */
export interface ServerSecretsTable {
  name: string;
  value: string;
}

/** The sidecar's own state DB (KOSYNC_STATE_DB; migrations in schema/state/). */
export interface StateDatabase {
  sync_keys: SyncKeysTable;
  library_files: LibraryFilesTable;
  document_ids: DocumentIdsTable;
  unmatched_documents: UnmatchedDocumentsTable;
  progress_history: ProgressHistoryTable;
  document_links: DocumentLinksTable;
  sessions: SessionsTable;
  server_secrets: ServerSecretsTable;
}
