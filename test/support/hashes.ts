import { pbkdf2Sync } from 'node:crypto';

/** A Werkzeug `pbkdf2:sha1:1000` hash (cheap, like dave's), so a test can give a user any password. */
export function werkzeugHash(password: string, salt = 'TestSalt'): string {
  return `pbkdf2:sha1:1000$${salt}$${pbkdf2Sync(password, salt, 1000, 20, 'sha1').toString('hex')}`;
}
