-- Keys of users without a local Calibre-Web password (LDAP-only) are bound to nothing in app.db that
-- changes with their password, so they expire KOSYNC_LDAP_KEY_DAYS after the last password login that
-- confirmed them (issue 11). Existing keys count as confirmed when last enabled.
ALTER TABLE sync_keys ADD COLUMN confirmed_at TEXT;   -- UTC, YYYY-MM-DD HH:MM:SS.ffffff
UPDATE sync_keys SET confirmed_at = updated_at;
