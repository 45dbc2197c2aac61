import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A key or token that does not work; the message says which, never the secret itself. */
export class FernetError extends Error {
  constructor(
    message: string,
    /** The key file could not be read at all (missing, or not readable by this user). */
    readonly unreadable = false,
  ) {
    super(message);
    this.name = 'FernetError';
  }
}

interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const VERSION = 0x80;
const HEADER_LENGTH = 1 + 8 + 16; // version, timestamp, IV
const HMAC_LENGTH = 32;

/**
 * A Fernet key as `Fernet(key)` in Python's cryptography reads it: url-safe base64 of 32 bytes, the
 * first half signs, the second half encrypts. Surrounding whitespace is ignored (Calibre-Web's `.key`
 * has none, a hand-made one may end in a newline).
 */
export function parseFernetKey(text: string | Buffer): FernetKey {
  const encoded = (typeof text === 'string' ? text : text.toString('latin1')).trim();
  const raw = BASE64URL.test(encoded) ? Buffer.from(encoded, 'base64url') : Buffer.alloc(0);
  if (raw.length !== 32) throw new FernetError('not a Fernet key (expected url-safe base64 of 32 bytes)');
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
}

/** Calibre-Web's Fernet key file: `.key` in the folder that holds app.db (docs/UPSTREAM.md#calibre-web-settings-and-the-key-file). */
export function keyFileBeside(appDbPath: string): string {
  return join(dirname(appDbPath), '.key');
}

/** The key in Calibre-Web's `.key` file; errors name the file. */
export function readFernetKeyFile(path: string): FernetKey {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (error) {
    throw new FernetError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, true);
  }
  try {
    return parseFernetKey(text);
  } catch (error) {
    throw new FernetError(`${path}: ${(error as Error).message}`);
  }
}

/**
 * `Fernet(key).decrypt(token)` with no TTL, as Calibre-Web's ConfigSQL.load decrypts `*_e` columns
 * (docs/UPSTREAM.md#calibre-web-settings-and-the-key-file) (stored as BLOBs of the ASCII token): version
 * byte 0x80, HMAC-SHA256 over everything before the tag checked in constant time, then AES-128-CBC with
 * PKCS7 padding. Any defect is a FernetError.
 */
export function decryptFernet(key: FernetKey, token: string | Buffer): string {
  const encoded = (typeof token === 'string' ? token : token.toString('latin1')).trim();
  const data = BASE64URL.test(encoded) ? Buffer.from(encoded, 'base64url') : Buffer.alloc(0);
  if (data.length < HEADER_LENGTH + 16 + HMAC_LENGTH || data[0] !== VERSION) {
    throw new FernetError('not a Fernet token');
  }
  const signed = data.subarray(0, data.length - HMAC_LENGTH);
  const tag = data.subarray(data.length - HMAC_LENGTH);
  const expected = createHmac('sha256', key.signing).update(signed).digest();
  if (!timingSafeEqual(tag, expected)) throw new FernetError('Fernet token signature does not match the key');
  const iv = data.subarray(9, HEADER_LENGTH);
  const ciphertext = data.subarray(HEADER_LENGTH, data.length - HMAC_LENGTH);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryption, iv);
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new FernetError('Fernet token does not decrypt');
  }
  return plain.toString('utf8');
}

/** A `*_e` settings column decrypted with the key file, or why not (its FernetError's message says which). */
type KeyFileDecryption = { plaintext: string } | { problem: 'unreadable-key' | 'not-a-key' | 'does-not-decrypt'; message: string };

/**
 * Does the key fit: a `*_e` column of Calibre-Web's settings decrypted with the key file, as
 * ConfigSQL.load does it. A missing token is `''` (None → ''), once the key file has been read. The
 * server's login settings and `doctor` both ask this.
 */
export function decryptWithKeyFile(keyFile: string, token: Buffer | string | undefined): KeyFileDecryption {
  let key: FernetKey;
  try {
    key = readFernetKeyFile(keyFile);
  } catch (error) {
    const fernet = error as FernetError;
    return { problem: fernet.unreadable ? 'unreadable-key' : 'not-a-key', message: fernet.message };
  }
  if (token === undefined) return { plaintext: '' };
  try {
    return { plaintext: decryptFernet(key, token) };
  } catch (error) {
    return { problem: 'does-not-decrypt', message: (error as FernetError).message };
  }
}
