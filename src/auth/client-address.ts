import { prefixKey } from '../util/addresses.js';

/**
 * The key a client address is counted under for the failed-login limit of one address. IPv4 (also
 * when written as an IPv4-mapped IPv6 address) counts per address; IPv6 per /64, because a single
 * subscriber usually holds a whole /64 and could otherwise rotate through it to escape the limit.
 */
export function clientAddressKey(address: string): string {
  return prefixKey(address, 32, 64);
}

/**
 * The network a failed login for one username is counted under: IPv4 /24, IPv6 /48. Coarser than an
 * address, so a guesser holding a block (a /24 of a hosting provider, a /48 from a tunnel broker) gets
 * the limit once, not once per address; only that username is held back there, never the whole network.
 */
export function clientNetworkKey(address: string): string {
  return prefixKey(address, 24, 48);
}

/**
 * Whose share of the password-check queue an attempt takes: IPv4 per address, IPv6 per /48. An IPv4
 * address is what an attacker pays for, and a /24 holds unrelated customers (an ISP's range, a CGNAT
 * pool) whose logins must not be starved by one neighbour. A /48 is the largest block usually given
 * to one site (RIPE-690: a /48 or /56 per customer; tunnel brokers hand out /48s for free), so an
 * attacker spreading over every /64 of it still gets one share.
 */
export function verificationShareKey(address: string): string {
  return prefixKey(address, 32, 48);
}
