-- Stock KOReader keys (PROTOCOL.md §3.5). KOReader sends x-auth-key = md5(password), which a Werkzeug
-- hash cannot check, so a user enables it once with their Calibre-Web password and this table keeps a
-- bcrypt verifier of that md5, bound to a fingerprint of the user's Calibre-Web password hash at the time.
CREATE TABLE sync_keys (
  user_id INTEGER PRIMARY KEY,          -- app.db user.id
  user_name TEXT NOT NULL,              -- user.name when enabled (for operators)
  verifier TEXT NOT NULL,               -- bcrypt of the lower-case md5 hex of the password
  password_fingerprint TEXT NOT NULL,   -- sha256 of app.db user.password when enabled
  created_at TEXT NOT NULL,             -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
  updated_at TEXT NOT NULL,
  last_used_at TEXT
);
