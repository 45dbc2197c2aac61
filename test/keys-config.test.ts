import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('KOSYNC_TRUST_PROXY and KOSYNC_RECORD_KEYS_ON_LOGIN', () => {
  it('trusts no proxy and records keys on login by default', () => {
    const config = loadConfig({});
    expect(config.trustProxy).toBe(false);
    expect(config.recordKeysOnLogin).toBe(true);
  });

  it.each([
    ['true', true],
    ['off', false],
    ['127.0.0.1, 10.0.0.0/8,::1, fd00::/8,loopback', ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']],
  ])('reads KOSYNC_TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ KOSYNC_TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['proxy.example', '10.0.0.0/33', '10.0.0.1/8/2', ','])('refuses KOSYNC_TRUST_PROXY=%s naming the variable', (value) => {
    expect(() => loadConfig({ KOSYNC_TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => loadConfig({ KOSYNC_TRUST_PROXY: value })).toThrow(/KOSYNC_TRUST_PROXY: must be true, false, or a comma list/);
  });

  it('turns key recording off with KOSYNC_RECORD_KEYS_ON_LOGIN=false', () => {
    expect(loadConfig({ KOSYNC_RECORD_KEYS_ON_LOGIN: 'false' }).recordKeysOnLogin).toBe(false);
  });
});
