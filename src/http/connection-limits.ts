import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientAddressKey } from '../auth/client-address.js';
import { ERRORS } from '../errors.js';
import { AddressList } from '../util/addresses.js';

export interface ConnectionLimits {
  /** Open connections at most (KOSYNC_MAX_CONNECTIONS); 0: no limit. */
  total: number;
  /** Open connections at most from one client address, IPv6 per /64 (KOSYNC_MAX_CONNECTIONS_PER_ADDRESS); 0: no limit. */
  perAddress: number;
}

interface ConnectionLimitDeps {
  /** Peers the per-address limit does not apply to: the reverse proxies of KOSYNC_TRUST_PROXY. */
  isProxy: (address: string) => boolean;
  /** Monotonic milliseconds (src/clock.ts): when a connection went idle. */
  now: () => number;
  log: { warn(obj: object, message: string): void };
}

interface Tracked {
  group: string;
  /** Requests received and not answered yet; 0 is idle (kept alive, or no request yet). */
  inFlight: number;
  idleSince: number;
}

/** At most one warning per this many milliseconds while connections are refused. */
const REFUSAL_REPORT_MS = 60_000;

const REFUSAL_BODY = JSON.stringify({ code: ERRORS.tooManyConnections.code, message: ERRORS.tooManyConnections.message });
const REFUSAL =
  `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n` +
  `Cache-Control: no-store\r\nConnection: close\r\n\r\n${REFUSAL_BODY}`;

/**
 * Caps open connections, in total and per client address, so idle keep-alive connections (or
 * connections that never finish their request head) cannot use up the process's file descriptors
 * and shut everyone out. At a cap a new connection first closes the connection of that scope that
 * has been idle longest, answering nobody's request by it; only when every one is busy with a request
 * is the new connection refused (503 JSON, then closed).
 *
 * The per-address cap counts the connecting peer (the proxy, behind a reverse proxy), so peers named
 * in KOSYNC_TRUST_PROXY are exempt: a proxy's connections are its clients' connections.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, deps: ConnectionLimitDeps): void {
  if (limits.total === 0 && limits.perAddress === 0) return;
  const open = new Map<Socket, Tracked>();
  const perGroup = new Map<string, number>();
  let refused = 0;
  let reportedAt = -Infinity;

  const closeLongestIdle = (inScope: (tracked: Tracked) => boolean): boolean => {
    let oldest: [Socket, Tracked] | undefined;
    for (const entry of open) {
      const tracked = entry[1];
      if (tracked.inFlight === 0 && inScope(tracked) && (!oldest || tracked.idleSince < oldest[1].idleSince)) oldest = entry;
    }
    if (!oldest) return false;
    forget(oldest[0]);
    oldest[0].destroy();
    return true;
  };

  const forget = (socket: Socket) => {
    const tracked = open.get(socket);
    if (!tracked) return;
    open.delete(socket);
    const left = (perGroup.get(tracked.group) ?? 1) - 1;
    if (left > 0) perGroup.set(tracked.group, left);
    else perGroup.delete(tracked.group);
  };

  const refuse = (socket: Socket, group: string, scope: string) => {
    refused++;
    const now = deps.now();
    if (now - reportedAt >= REFUSAL_REPORT_MS) {
      deps.log.warn({ address: group, refused, open: open.size }, `connection refused: ${scope}, all busy with requests`);
      reportedAt = now;
      refused = 0;
    }
    if (socket.writable) socket.write(REFUSAL);
    socket.destroy();
  };

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const group = clientAddressKey(address);
    const capped = limits.perAddress > 0 && !deps.isProxy(address);
    if (capped && (perGroup.get(group) ?? 0) >= limits.perAddress && !closeLongestIdle((t) => t.group === group)) {
      refuse(socket, group, `${limits.perAddress} connections open from this address (KOSYNC_MAX_CONNECTIONS_PER_ADDRESS)`);
      return;
    }
    if (limits.total > 0 && open.size >= limits.total && !closeLongestIdle(() => true)) {
      refuse(socket, group, `${limits.total} connections open (KOSYNC_MAX_CONNECTIONS)`);
      return;
    }
    open.set(socket, { group, inFlight: 0, idleSince: deps.now() });
    perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
    socket.once('close', () => forget(socket));
  });

  server.on('request', (request, response) => {
    const tracked = open.get(request.socket);
    if (!tracked) return;
    tracked.inFlight++;
    response.once('close', () => {
      tracked.inFlight--;
      if (tracked.inFlight === 0) tracked.idleSince = deps.now();
    });
  });
}

/** KOSYNC_TRUST_PROXY as a test of a peer address: `true` trusts every peer, a list its entries. */
export function proxyPeers(trustProxy: boolean | readonly string[]): (address: string) => boolean {
  if (typeof trustProxy === 'boolean') return () => trustProxy;
  const peers = new AddressList();
  for (const entry of trustProxy) for (const range of NAMED_RANGES[entry] ?? [entry]) peers.add(range);
  return (address) => peers.includes(address);
}

/** proxy-addr's names for address ranges, which fastify's trustProxy (and so KOSYNC_TRUST_PROXY) accepts. */
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};
