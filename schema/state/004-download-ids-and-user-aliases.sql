-- Issue 13: the ids of files Calibre-Web served (the download tap), aliases learnt from one user's
-- KOReader metadata kept for that user alone, and the documents a user pushed that matched nothing.

-- document_ids gains the method 'download' (the partial MD5 of a file as Calibre-Web served it, which
-- differs from the library file when Calibre-Web embeds metadata on download). SQLite cannot change a
-- CHECK, so the table is rebuilt with its rows and ids. Rows of method 'metadata' were recorded for
-- every user before aliases were kept per user: they stay as history and no longer match.
CREATE TABLE document_ids_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document TEXT NOT NULL,
  book_id INTEGER NOT NULL,
  format TEXT NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('binary', 'filename', 'metadata', 'download')),
  detail TEXT,                          -- the file path, the file name hashed, the metadata matched, or the name served
  first_seen TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  last_seen TEXT NOT NULL,
  UNIQUE (document, book_id, format, method)
);
INSERT INTO document_ids_new (id, document, book_id, format, method, detail, first_seen, last_seen)
  SELECT id, document, book_id, format, method, detail, first_seen, last_seen FROM document_ids;
DROP TABLE document_ids;
ALTER TABLE document_ids_new RENAME TO document_ids;
CREATE INDEX document_ids_book_format ON document_ids (book_id, format);

-- A document matched through the title and authors one user's KOReader sent: an alias of that book
-- for that user only, so one account cannot point another's read status at a different book.
CREATE TABLE user_aliases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL,             -- app.db user.id
  document TEXT NOT NULL,
  book_id INTEGER NOT NULL,
  format TEXT NOT NULL,
  detail TEXT,                          -- the metadata matched (JSON)
  first_seen TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  last_seen TEXT NOT NULL,
  UNIQUE (user_id, document, book_id, format)
);
CREATE INDEX user_aliases_book_format ON user_aliases (user_id, book_id, format);

-- A document a user pushed that matched no book, with the metadata KOReader sent (if any) and the
-- reason it was last explained by, so `checksums find` (and an account page) can explain it again.
CREATE TABLE unmatched_documents (
  user_id INTEGER NOT NULL,             -- app.db user.id
  document TEXT NOT NULL,
  title TEXT,                           -- KOReader's metadata with the last push explained
  authors TEXT,
  filename TEXT,
  reason TEXT NOT NULL,                 -- the explanation's code (src/matching/explain.ts)
  first_seen TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  last_seen TEXT NOT NULL,
  PRIMARY KEY (user_id, document)
);
