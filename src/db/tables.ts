import type { ColumnType, Generated } from 'kysely';

/** Calibre-Web app.db (Calibre-Web ub.py models; DDL in schema/app-db.sql). Datetimes are SQLAlchemy text. */
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

/** CWA's progress table (progress_syncing/models.py KOSyncProgress); percentage on the 0–100 scale. */
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
