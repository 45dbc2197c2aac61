-- Calibre metadata.db: the tables calibre-web-kosync reads (never writes).
-- Columns and constraints as calibre 6.x creates them. calibre's triggers call functions only calibre
-- registers (title_sort, uuid4), so they are left out here: this file builds demo and test libraries.
-- book_format_checksums is CWA's table (CWA progress_syncing/models.py ensure_checksum_table); it exists
-- only in libraries where CWA's KOReader sync was switched on.

CREATE TABLE books ( id      INTEGER PRIMARY KEY AUTOINCREMENT,
                             title     TEXT NOT NULL DEFAULT 'Unknown' COLLATE NOCASE,
                             sort      TEXT COLLATE NOCASE,
                             timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                             pubdate   TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                             series_index REAL NOT NULL DEFAULT 1.0,
                             author_sort TEXT COLLATE NOCASE,
                             isbn TEXT DEFAULT "" COLLATE NOCASE,
                             lccn TEXT DEFAULT "" COLLATE NOCASE,
                             path TEXT NOT NULL DEFAULT "",
                             flags INTEGER NOT NULL DEFAULT 1,
                             uuid TEXT,
                             has_cover BOOL DEFAULT 0,
                             last_modified TIMESTAMP NOT NULL DEFAULT "2000-01-01 00:00:00+00:00");

CREATE TABLE data ( id     INTEGER PRIMARY KEY,
                            book   INTEGER NOT NULL,
                            format TEXT NOT NULL COLLATE NOCASE,
                            uncompressed_size INTEGER NOT NULL,
                            name TEXT NOT NULL,
                            UNIQUE(book, format)
);
CREATE INDEX data_idx ON data (book);

CREATE TABLE authors ( id   INTEGER PRIMARY KEY,
                              name TEXT NOT NULL COLLATE NOCASE,
                              sort TEXT COLLATE NOCASE,
                              link TEXT NOT NULL DEFAULT "",
                              UNIQUE(name)
                             );

CREATE TABLE books_authors_link ( id INTEGER PRIMARY KEY,
                                          book INTEGER NOT NULL,
                                          author INTEGER NOT NULL,
                                          UNIQUE(book, author)
                                        );
CREATE INDEX books_authors_link_bidx ON books_authors_link (book);

CREATE TABLE book_format_checksums (id INTEGER PRIMARY KEY AUTOINCREMENT, book INTEGER NOT NULL, format TEXT NOT NULL COLLATE NOCASE, checksum TEXT NOT NULL, version TEXT NOT NULL DEFAULT 'koreader', created TIMESTAMP DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (book) REFERENCES books(id) ON DELETE CASCADE);
CREATE INDEX idx_checksum ON book_format_checksums(checksum);
CREATE INDEX idx_checksum_version ON book_format_checksums(checksum, version);
CREATE INDEX idx_book_format ON book_format_checksums(book, format);
CREATE INDEX idx_created ON book_format_checksums(created);
