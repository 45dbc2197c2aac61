import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration from the environment', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      appDb: undefined,
      library: undefined,
      stateDb: undefined,
      host: '0.0.0.0',
      port: 8084,
      basePath: '/kosync',
      rootAliases: false,
      shareProgressAcrossFiles: true,
      koboBridge: false,
      readColumn: false,
      logLevel: 'info',
      lockWaitMs: 4000,
    });
  });

  it('is frozen all the way down: no setting, nested or not, can be changed after start', () => {
    const config = loadConfig({ KOSYNC_TRUST_PROXY: '127.0.0.1,10.0.0.0/8' });
    const unfrozen: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (typeof value !== 'object' || value === null) return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
    };
    walk(config, 'config');
    expect(unfrozen).toEqual([]);
    expect(Object.keys(config.loginLimits).length).toBeGreaterThan(0);
    expect(config.trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
    expect(() => {
      (config.loginLimits as { perAddress: number }).perAddress = 0;
    }).toThrow(TypeError);
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        KOSYNC_APP_DB: '/config/app.db',
        KOSYNC_LIBRARY: '/books',
        KOSYNC_STATE_DB: '/data/kosync.db',
        KOSYNC_HOST: '127.0.0.1',
        KOSYNC_PORT: '9000',
        KOSYNC_BASE_PATH: '/sync/',
        KOSYNC_ROOT_ALIASES: 'yes',
        KOSYNC_SHARE_PROGRESS_ACROSS_FILES: 'off',
        KOSYNC_KOBO_BRIDGE: 'true',
        KOSYNC_READ_COLUMN: 'on',
        KOSYNC_LOG_LEVEL: 'debug',
        KOSYNC_LOCK_WAIT_MS: '1500',
      }),
    ).toMatchObject({
      appDb: '/config/app.db',
      library: '/books',
      stateDb: '/data/kosync.db',
      host: '127.0.0.1',
      port: 9000,
      basePath: '/sync',
      rootAliases: true,
      shareProgressAcrossFiles: false,
      koboBridge: true,
      readColumn: true,
      logLevel: 'debug',
      lockWaitMs: 1500,
    });
  });

  it('serves at the root for a base path of /', () => {
    expect(loadConfig({ KOSYNC_BASE_PATH: '/' }).basePath).toBe('');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ KOSYNC_APP_DB: '', KOSYNC_PORT: '' })).toMatchObject({ appDb: undefined, port: 8084 });
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        KOSYNC_PORT: 'eighty',
        KOSYNC_ROOT_ALIASES: 'maybe',
        KOSYNC_BASE_PATH: 'kosync',
        KOSYNC_LOG_LEVEL: 'loud',
        KOSYNC_KOBO_BRIDGE: 'kobo',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('KOSYNC_PORT: must be a whole number (got "eighty")');
    expect(problems).toContain('KOSYNC_ROOT_ALIASES: must be one of true/false, 1/0, yes/no, on/off (got "maybe")');
    expect(problems).toContain('KOSYNC_BASE_PATH');
    expect(problems).toContain('KOSYNC_LOG_LEVEL');
    expect(problems).toContain('KOSYNC_KOBO_BRIDGE: must be one of true/false, 1/0, yes/no, on/off (got "kobo")');
  });

  it('refuses a port out of range', () => {
    expect(() => loadConfig({ KOSYNC_PORT: '70000' })).toThrow('KOSYNC_PORT: must be between 0 and 65535');
  });

  it("takes Calibre-Web's own address for the download tap: an http(s) origin, nothing after the port", () => {
    expect(loadConfig({}).calibreWebUrl).toBeUndefined();
    expect(loadConfig({ KOSYNC_CALIBRE_WEB_URL: ' http://calibre-web:8083/ ' }).calibreWebUrl).toBe('http://calibre-web:8083');
    expect(loadConfig({ KOSYNC_CALIBRE_WEB_URL: 'https://BOOKS.example' }).calibreWebUrl).toBe('https://books.example');
    for (const bad of [
      'calibre-web:8083',
      'ftp://calibre-web',
      'http://calibre-web:8083/calibre',
      'http://cw:8083/?x=1',
      'http://u:p@cw:8083',
    ]) {
      expect(() => loadConfig({ KOSYNC_CALIBRE_WEB_URL: bad })).toThrow(
        `KOSYNC_CALIBRE_WEB_URL: must be Calibre-Web's own address: http(s)://host:port, without a path (got ${JSON.stringify(bad)})`,
      );
    }
  });
});
