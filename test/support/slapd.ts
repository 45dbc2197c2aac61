import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { missingCommand } from './system.js';

/**
 * A throwaway OpenLDAP server for tests (Debian slapd + ldap-utils, installed by .ci/run): its own
 * slapd.conf and data in a temp folder, listening on free loopback ports only, stopped after the tests.
 * The directory is the one ../shared/scripts/ldap-test-server.sh describes and app-ldap.db is set up
 * for: suffix dc=example,dc=org, service account cn=svc (svcpass), alice (secret), ldapuser (ldappass),
 * o'brien(test) (obrien), plus `*` — a uid that is a single asterisk (star) — and ldaponly (onlyhere),
 * who is not in app.db.
 */

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
export const SUFFIX = 'dc=example,dc=org';

/** Why LDAP tests cannot run here, or undefined when slapd and its schema files are installed. */
export function slapdMissing(): string | undefined {
  const missing = [SLAPD, SLAPADD, join(SCHEMA_DIR, 'inetorgperson.schema')].filter((p) => !existsSync(p));
  return missing.length > 0 ? `slapd is not installed (missing ${missing.join(', ')}); .ci/run installs slapd and ldap-utils` : undefined;
}

/** Why certificates cannot be made here (the openssl command), or undefined. */
export function opensslMissing(): string | undefined {
  return missingCommand('openssl', ['version'], 'apt-get install openssl; .ci/run does');
}

interface SlapdOptions {
  /** Also listen with TLS: STARTTLS on the plain port and LDAPS on a second one, with a fresh self-signed certificate. */
  tls?: boolean;
  /** Accept unauthenticated binds (a DN with an empty password), which slapd refuses by default. */
  allowUnauthenticatedBind?: boolean;
}

export interface Slapd {
  dir: string;
  port: number;
  /** The LDAPS port when started with `tls`. */
  ldapsPort: number | undefined;
  /** The server's self-signed certificate and key (PEM files) when started with `tls`. */
  certFile: string | undefined;
  keyFile: string | undefined;
  stop(): Promise<void>;
}

/** Starts slapd and resolves once it answers on its port. */
export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'kosync-slapd-'));
  mkdirSync(join(dir, 'db'));
  const port = await freePort();
  const ldapsPort = options.tls ? await freePort() : undefined;
  let certFile: string | undefined;
  let keyFile: string | undefined;
  if (options.tls) {
    certFile = join(dir, 'server.crt');
    keyFile = join(dir, 'server.key');
    selfSignedCertificate(certFile, keyFile);
  }
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, slapdConf(dir, options, certFile, keyFile));
  writeFileSync(join(dir, 'seed.ldif'), SEED);
  execFileSync(SLAPADD, ['-f', conf, '-l', join(dir, 'seed.ldif'), '-q'], { stdio: 'pipe' });

  const urls = [`ldap://127.0.0.1:${port}/`, ...(ldapsPort ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])];
  // `-d 0` keeps slapd in the foreground as our child, so it can be stopped by its own pid.
  const child = spawn(SLAPD, ['-f', conf, '-h', urls.join(' '), '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = () => stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await waitForPort(port, child, () => stderr);
    if (ldapsPort) await waitForPort(ldapsPort, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, port, ldapsPort, certFile, keyFile, stop };
}

/** A certificate for 127.0.0.1 that is its own CA, made with the openssl CLI. */
export function selfSignedCertificate(certFile: string, keyFile: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  );
}

function slapdConf(dir: string, options: SlapdOptions, certFile?: string, keyFile?: string): string {
  return [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${dir}/slapd.pid`,
    ...(options.allowUnauthenticatedBind ? ['allow bind_anon_dn'] : []),
    ...(certFile && keyFile ? [`TLSCertificateFile ${certFile}`, `TLSCertificateKeyFile ${keyFile}`] : []),
    'database mdb',
    'maxsize 16777216',
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    'rootpw adminpw',
    `directory ${dir}/db`,
    // As ldap-test-server.sh: passwords usable for binds only, everything else readable by anyone
    // (Calibre-Web's default anonymous service bind needs that).
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    '',
  ].join('\n');
}

function person(uid: string, cn: string, password: string, number: number): string {
  return [
    `dn: uid=${uid.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)},ou=people,${SUFFIX}`,
    'objectClass: inetOrgPerson',
    'objectClass: posixAccount',
    `uid: ${uid}`,
    `cn: ${cn}`,
    `sn: ${cn.split(' ').pop()}`,
    `uidNumber: ${number}`,
    `gidNumber: ${number}`,
    `homeDirectory: /home/u${number}`,
    // slapd compares a cleartext userPassword on simple binds; fine for a test directory.
    `userPassword: ${password}`,
    '',
  ].join('\n');
}

const SEED = [
  `dn: ${SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n`,
  `dn: cn=svc,${SUFFIX}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: svc\nuserPassword: svcpass\n`,
  `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`,
  person('alice', 'Alice Example', 'secret', 10001),
  person('ldapuser', 'LDAP User', 'ldappass', 10002),
  person("o'brien(test)", "Pat O'Brien", 'obrien', 10003),
  person('*', 'Star User', 'star', 10004),
  person('ldaponly', 'Directory Only', 'onlyhere', 10005),
].join('\n');

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${stderr()}`);
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`slapd did not listen on 127.0.0.1:${port} within 10 s: ${stderr()}`);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
