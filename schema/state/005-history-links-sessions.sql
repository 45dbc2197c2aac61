-- Issue 15: what a reader sees and fixes on the account page and API.

-- Every accepted push, per (user, document), newest KOSYNC_HISTORY_LIMIT kept: what "restore" makes
-- current again. app.db keeps only the current position, exactly as the original.
CREATE TABLE progress_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL,             -- app.db user.id
  document TEXT NOT NULL,
  progress TEXT NOT NULL,
  percentage REAL NOT NULL,             -- 0-100, as kosync_progress stores it
  device TEXT NOT NULL,
  device_id TEXT,
  timestamp TEXT NOT NULL               -- UTC, YYYY-MM-DD HH:MM:SS.ffffff: when the push was accepted
);
CREATE INDEX progress_history_user_document ON progress_history (user_id, document, id);

-- A document a reader linked to a library book by hand: for that reader alone, before every other way
-- of matching (src/matching/manual-links.ts).
CREATE TABLE document_links (
  user_id INTEGER NOT NULL,             -- app.db user.id
  document TEXT NOT NULL,
  book_id INTEGER NOT NULL,             -- metadata.db books.id
  format TEXT NOT NULL,                 -- upper-case, one of the book's formats
  linked_at TEXT NOT NULL,              -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  PRIMARY KEY (user_id, document)
);

-- Signed-in sessions of the account page. The cookie holds a random id signed with the secret below;
-- only its sha256 is stored. A session ends at its expiry, on sign-out, or when the user's Calibre-Web
-- password hash no longer has the fingerprint it was started with.
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,             -- sha256 hex of the id in the cookie
  user_id INTEGER NOT NULL,             -- app.db user.id
  password_fingerprint TEXT NOT NULL,   -- as sync_keys.password_fingerprint, of the hash at sign-in
  created_at TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The key the session cookie is signed with, made once when this migration runs so that sessions
-- survive restarts. Never logged.
CREATE TABLE server_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO server_secrets (name, value) VALUES ('session_cookie', lower(hex(randomblob(32))));
