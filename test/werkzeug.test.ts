import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyWerkzeugHash } from '../src/auth/werkzeug.js';

interface Vector {
  password: string;
  hash: string;
  expect: boolean;
  note: string;
}
const file = JSON.parse(readFileSync(new URL('./fixtures/vectors/werkzeug-hashes.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
  negative: Vector[];
};

describe('werkzeug password hashes', () => {
  it.each(file.vectors.map((v) => [v.note, v] as const))('accepts %s', async (_note, v) => {
    expect(v.expect).toBe(true);
    await expect(verifyWerkzeugHash(v.hash, v.password)).resolves.toBe(true);
  });

  it.each(file.negative.map((v) => [v.note, v] as const))('rejects %s', async (_note, v) => {
    expect(v.expect).toBe(false);
    await expect(verifyWerkzeugHash(v.hash, v.password)).resolves.toBe(false);
  });

  it.each([
    ['scrypt with absurd memory', 'scrypt:1073741824:8:1$salt$00'],
    ['pbkdf2 with absurd iterations', 'pbkdf2:sha256:999999999999$salt$00'],
    ['scrypt with a zero parameter', 'scrypt:0:8:1$salt$00'],
    ['scrypt with n not a power of two', 'scrypt:1000:8:1$salt$00'],
    ['pbkdf2 with a digest argument that is not a hash', 'pbkdf2:toString:1000$salt$00'],
    ['a legacy method that is not a digest', 'constructor$salt$00'],
  ])('treats %s as a failed login, never an exception', async (_name, hash) => {
    await expect(verifyWerkzeugHash(hash, 'secret')).resolves.toBe(false);
  });
});
