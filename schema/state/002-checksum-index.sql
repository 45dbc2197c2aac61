-- The checksum index (issue 4): which library book a KOReader document id belongs to, for libraries
-- without CWA's book_format_checksums, and for ids CWA never computes (filename method, metadata aliases).
-- metadata.db stays read-only; everything derived from it lives here.

-- The library's files as last seen: one row per metadata.db `data` row. `checksum` is NULL while the
-- file is missing on disk; a row whose `data` row is gone is deleted. Matching requires a row here
-- with a checksum, so deleted books and files drop out while their history below is kept.
CREATE TABLE library_files (
  data_id INTEGER PRIMARY KEY,          -- metadata.db data.id
  book_id INTEGER NOT NULL,             -- metadata.db books.id
  format TEXT NOT NULL,                 -- upper-case, e.g. EPUB
  path TEXT NOT NULL,                   -- <books.path>/<data.name>.<lower(format)>, relative to the library
  download_name TEXT NOT NULL,          -- the file name Calibre-Web gives downloads of this format
  size INTEGER,                         -- bytes; NULL while missing
  mtime_ms REAL,                        -- modification time (epoch ms); NULL while missing
  checksum TEXT,                        -- current KOReader partial MD5; NULL while missing
  scanned_at TEXT NOT NULL              -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
);
CREATE INDEX library_files_book_format ON library_files (book_id, format);

-- Every document id ever seen for a book and format. Never deleted: a device that still has an old
-- copy of a file keeps matching. method: 'binary' (partial MD5 of a library file), 'filename' (md5 of
-- a file name the book is known by), 'metadata' (an alias recorded when KOReader's metadata matched).
CREATE TABLE document_ids (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document TEXT NOT NULL,
  book_id INTEGER NOT NULL,
  format TEXT NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('binary', 'filename', 'metadata')),
  detail TEXT,                          -- the file path, the file name hashed, or the metadata matched
  first_seen TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  last_seen TEXT NOT NULL,
  UNIQUE (document, book_id, format, method)
);
CREATE INDEX document_ids_book_format ON document_ids (book_id, format);
