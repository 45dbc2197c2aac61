import type { IncomingHttpHeaders } from 'node:http';
import { decodeStrictUtf8 } from '../util/utf8.js';

/** What a client presented: a Calibre-Web password (Basic) or a stock-KOReader key (x-auth-*). */
export interface Credentials {
  scheme: 'basic' | 'key';
  username: string;
  secret: string;
}

const MAX_USERNAME_LENGTH = 100;

/**
 * The credentials of a request, or undefined when they are missing or malformed. Basic auth is read as
 * CWA kosync.py authenticate_user does (docs/UPSTREAM.md#cwa-the-original-kosyncpy): base64, UTF-8,
 * split at the first `:`, a non-empty password and a username of 1–100 characters without `:`.
 */
export function readCredentials(headers: IncomingHttpHeaders): Credentials | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) return readBasic(authorization);
  const user = headers['x-auth-user'];
  const key = headers['x-auth-key'];
  if (typeof user === 'string' && typeof key === 'string') {
    const username = headerText(user);
    return validUsername(username) && key !== '' ? { scheme: 'key', username, secret: key } : undefined;
  }
  return undefined;
}

function readBasic(header: string): Credentials | undefined {
  const match = /^basic (.*)$/is.exec(header.trim());
  if (!match) return undefined;
  const decoded = decodeStrictUtf8(Buffer.from(match[1]!.trim(), 'base64'));
  if (decoded === undefined) return undefined;
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const username = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  return validUsername(username) && secret !== '' ? { scheme: 'basic', username, secret } : undefined;
}

function validUsername(name: string): boolean {
  return name !== '' && !name.includes(':') && [...name].length <= MAX_USERNAME_LENGTH;
}

/**
 * Node reads header bytes as latin1; KOReader sends the username as raw UTF-8. Re-decode when the
 * bytes are valid UTF-8, keep latin1 text otherwise.
 */
export function headerText(value: string): string {
  return decodeStrictUtf8(Buffer.from(value, 'latin1')) ?? value;
}
