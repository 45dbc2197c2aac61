import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptFernet, FernetError, parseFernetKey, readFernetKeyFile } from '../src/auth/fernet.js';
import { copyFixtures, query } from './support/fixtures.js';
import { missingCommand, skipWithout } from './support/system.js';

const PYTHON = '/usr/bin/python3';
const TEXTS = ['svcpass', '', 'pässwörd ✓ with spaces', 'x'.repeat(100), 'sixteen bytes!!!'];

/** Tokens made by Python's cryptography (Debian python3-cryptography, installed by .ci/run) with a fresh key. */
function pythonTokens(): { key: string; tokens: string[] } | undefined {
  if (noCryptography) return undefined;
  try {
    const script = [
      'import json, sys',
      'from cryptography.fernet import Fernet',
      'key = Fernet.generate_key()',
      'f = Fernet(key)',
      'texts = json.loads(sys.stdin.read())',
      'print(json.dumps({"key": key.decode(), "tokens": [f.encrypt(t.encode()).decode() for t in texts]}))',
    ].join('\n');
    return JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(TEXTS), stdio: 'pipe' }).toString());
  } catch {
    return undefined;
  }
}

const noCryptography = skipWithout(
  missingCommand(PYTHON, ['-c', 'import cryptography.fernet'], 'apt-get install python3-cryptography; .ci/run does'),
  'the Fernet tests against Python',
);
const made = pythonTokens();
const temp = mkdtempSync(join(tmpdir(), 'kosync-fernet-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe.skipIf(noCryptography)('Fernet tokens made by Python cryptography', () => {
  it('decrypt to the original text', () => {
    const key = parseFernetKey(made!.key);
    expect(made!.tokens.map((t) => decryptFernet(key, t))).toEqual(TEXTS);
  });

  it('decrypt when given as the BLOB bytes Calibre-Web stores', () => {
    const key = parseFernetKey(Buffer.from(made!.key));
    expect(decryptFernet(key, Buffer.from(made!.tokens[0]!, 'ascii'))).toBe('svcpass');
  });

  it('are rejected when any byte of the token is changed', () => {
    const key = parseFernetKey(made!.key);
    const raw = Buffer.from(made!.tokens[0]!, 'base64url');
    for (const index of [0, 5, 12, 30, raw.length - 40, raw.length - 1]) {
      const tampered = Buffer.from(raw);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(() => decryptFernet(key, tampered.toString('base64url'))).toThrow(FernetError);
    }
  });

  it('are rejected under another key', () => {
    const other = parseFernetKey(Buffer.alloc(32, 7).toString('base64url'));
    expect(() => decryptFernet(other, made!.tokens[0]!)).toThrow('signature does not match');
  });

  it('are rejected when truncated or not base64', () => {
    const key = parseFernetKey(made!.key);
    expect(() => decryptFernet(key, made!.tokens[0]!.slice(0, 40))).toThrow('not a Fernet token');
    expect(() => decryptFernet(key, 'not a token!')).toThrow('not a Fernet token');
    expect(() => decryptFernet(key, '')).toThrow('not a Fernet token');
  });
});

describe('the fixture app-ldap.db', () => {
  it("holds a service password that decrypts to svcpass with Calibre-Web's .key", () => {
    const files = copyFixtures({ app: 'app-ldap.db', library: null });
    try {
      const [row] = query<{ token: Buffer }>(files.appDb, 'SELECT config_ldap_serv_password_e AS token FROM settings');
      expect(Buffer.isBuffer(row!.token)).toBe(true);
      expect(decryptFernet(readFernetKeyFile(join(files.dir, '.key')), row!.token)).toBe('svcpass');
    } finally {
      files.remove();
    }
  });
});

describe('the .key file', () => {
  it('is read with a trailing newline', () => {
    const path = join(temp, 'newline.key');
    writeFileSync(path, `${Buffer.alloc(32, 1).toString('base64url')}\n`);
    expect(readFernetKeyFile(path).signing).toEqual(Buffer.alloc(16, 1));
  });

  it('missing: the error names the file', () => {
    const path = join(temp, 'absent', '.key');
    expect(() => readFernetKeyFile(path)).toThrow(`cannot read ${path}: ENOENT`);
  });

  it('not a key: the error names the file', () => {
    const path = join(temp, 'short.key');
    writeFileSync(path, 'c2hvcnQ=');
    expect(() => readFernetKeyFile(path)).toThrow(`${path}: not a Fernet key (expected url-safe base64 of 32 bytes)`);
  });
});
