import { AddressList } from '../../util/addresses.js';
import { integer, text, token } from '../ldap/settings.js';

/** Calibre-Web's reverse-proxy header login settings, when it is switched on. */
export interface ProxyHeaderSettings {
  /** config_reverse_proxy_login_header_name, lower-cased as Node presents header names. */
  headerName: string;
  /** config_reverse_proxy_trusted_ips: the peers allowed to send the header. */
  trustedPeers: AddressList;
  /** Entries of the trusted list that are neither an address nor a network (ignored, as Calibre-Web does). */
  invalidEntries: string[];
  /** Present when config_reverse_proxy_use_shared_secret is on. */
  sharedSecret: { headerName: string; token: Buffer | string | undefined } | undefined;
}

/**
 * Calibre-Web 0.6.27's default for config_reverse_proxy_trusted_ips (config_sql.py,
 * docs/UPSTREAM.md#calibre-web-settings-and-the-key-file).
 */
const DEFAULT_TRUSTED_PEERS = '127.0.0.1,::1';

/**
 * The header-login settings from the `settings` row, or undefined when
 * config_allow_reverse_proxy_header_login is off or no header is named. A missing column takes
 * Calibre-Web's default, so a file from before the trusted-address list (0.6.27) gets the loopback-only
 * default rather than trusting every peer.
 */
export function proxyHeaderSettingsFrom(row: Record<string, unknown>): ProxyHeaderSettings | undefined {
  if (integer(row.config_allow_reverse_proxy_header_login, 0) === 0) return undefined;
  const headerName = text(row.config_reverse_proxy_login_header_name, '').trim().toLowerCase();
  if (headerName === '') return undefined;
  const { peers, invalid } = parseTrustedPeers(text(row.config_reverse_proxy_trusted_ips, DEFAULT_TRUSTED_PEERS));
  return {
    headerName,
    trustedPeers: peers,
    invalidEntries: invalid,
    sharedSecret:
      integer(row.config_reverse_proxy_use_shared_secret, 0) !== 0
        ? {
            headerName: text(row.config_reverse_proxy_login_secret_header_name, '').trim().toLowerCase(),
            token: token(row.config_reverse_proxy_login_header_secret_e),
          }
        : undefined,
  };
}

/**
 * A comma-separated list of addresses and networks, read as Calibre-Web's reverse_proxy_auth.py does
 * (docs/UPSTREAM.md#calibre-web-reverse-proxy-header-login) with `ipaddress.ip_network(entry,
 * strict=False)`: blanks skipped, host bits allowed, bad entries ignored. Unlike Python's ipaddress, an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) and its IPv4 form match each other (AddressList), so one
 * list serves the sidecar whether it listens on IPv4 or dual-stack.
 */
export function parseTrustedPeers(list: string): { peers: AddressList; invalid: string[] } {
  const peers = new AddressList();
  const invalid: string[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (entry !== '' && !peers.add(entry)) invalid.push(entry);
  }
  return { peers, invalid };
}
