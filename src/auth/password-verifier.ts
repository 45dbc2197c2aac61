import type { UserRow } from '../repos/users.js';
import { verifyWerkzeugHash } from './werkzeug.js';

/** How a password was confirmed, and for how long that may be remembered (undefined: the default). */
export interface Verified {
  method: 'basic' | 'ldap';
  rememberMs?: number;
}

/**
 * Checks a Calibre-Web password for a user row (Guest already excluded). `deadline` (monotonic ms) ends
 * any wait for app.db's lock the check needs (reading Calibre-Web's LDAP settings).
 */
export type PasswordVerifier = (user: UserRow, password: string, deadline?: number) => Promise<Verified | undefined>;

/** The user's local Werkzeug hash; an empty hash (Guest, LDAP-imported users) never matches. */
export const localPasswordVerifier: PasswordVerifier = async (user, password) =>
  user.password !== '' && (await verifyWerkzeugHash(user.password, password)) ? { method: 'basic' } : undefined;
