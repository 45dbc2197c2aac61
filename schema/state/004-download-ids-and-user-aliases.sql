-- Issue 13: the ids of files Calibre-Web served (the download tap), aliases learnt from one user's
-- KOReader metadata kept for that user alone, and the documents a user pushed that matched nothing.

-- document_ids gains the method 'download' (the partial MD5 of a file as Calibre-Web served it, which
-- differs from the library file when Calibre-Web embeds metadata on download) and the column user_id:
-- 0 for what holds for everyone (library files, downloads, file names), else the app.db user an alias
-- learnt from KOReader's metadata belongs to, so one account cannot point another's read status at a
-- different book. SQLite cannot change a CHECK or a UNIQUE, so the table is rebuilt with its rows and
-- ids. Aliases recorded before (method 'metadata', for every user) keep user_id 0: history, no longer
-- matched.
CREATE TABLE document_ids_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document TEXT NOT NULL,
  book_id INTEGER NOT NULL,
  format TEXT NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('binary', 'filename', 'metadata', 'download')),
  detail TEXT,                          -- the file path, the file name hashed, the metadata matched, or the name served
  first_seen TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  last_seen TEXT NOT NULL,
  user_id INTEGER NOT NULL DEFAULT 0,   -- 0: everyone; else app.db user.id (aliases from that user's metadata)
  UNIQUE (document, book_id, format, method, user_id)
);
INSERT INTO document_ids_new (id, document, book_id, format, method, detail, first_seen, last_seen)
  SELECT id, document, book_id, format, method, detail, first_seen, last_seen FROM document_ids;
DROP TABLE document_ids;
ALTER TABLE document_ids_new RENAME TO document_ids;
CREATE INDEX document_ids_book_format ON document_ids (book_id, format);

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
