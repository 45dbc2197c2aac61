/**
 * A value escaped for an LDAP search filter (RFC 4515 §3): the characters that would end or widen the
 * assertion — `\`, `*`, `(`, `)` and NUL — as `\XX`, the set Calibre-Web's simpleldap.py
 * `_escape_ldap_filter` escapes (docs/UPSTREAM.md#calibre-web-ldap). Everything else, non-ASCII
 * included, stays as it is.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

class UserObjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserObjectError';
  }
}

/**
 * `config_ldap_user_object % escaped_name`, as Calibre-Web formats it: exactly one `%s` (its admin form
 * insists on it; Python's `%` raises otherwise) and `%%` for a literal `%`. Escaped once — Calibre-Web
 * escapes names twice (its own escaping, then Flask-SimpleLDAP's), so names with `*()\` never match
 * there; escaping once is what its escaping intends (docs/UPSTREAM.md#calibre-web-ldap).
 */
export function userFilter(userObject: string, username: string): string {
  let placeholders = 0;
  let unknown: string | undefined;
  const filter = userObject.replace(/%(.?)/gs, (directive, kind: string) => {
    if (kind === '%') return '%';
    if (kind === 's') {
      placeholders++;
      return escapeFilterValue(username);
    }
    unknown ??= directive;
    return directive;
  });
  if (unknown !== undefined) throw new UserObjectError(`config_ldap_user_object has an unsupported "${unknown}"`);
  if (placeholders !== 1) throw new UserObjectError(`config_ldap_user_object must contain exactly one %s (found ${placeholders})`);
  return filter;
}
