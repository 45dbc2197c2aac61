import { isIPv4, isIPv6 } from 'node:net';

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

/**
 * `address` cut to its first `ipv4Bits` (24 or 32) or `ipv6Bits` (48 or 64): the address itself for
 * IPv4 /32, `a.b.c.0/24`, or `a:b:c[:d]::/n` in lower-case hex. Anything that is not an IP address is
 * its own key.
 */
function prefixKey(address: string, ipv4Bits: 24 | 32, ipv6Bits: 48 | 64): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  const ipv4 = mapped && isIPv4(mapped[1]!) ? mapped[1]! : isIPv4(address) ? address : undefined;
  if (ipv4 !== undefined) return ipv4Bits === 32 ? ipv4 : `${ipv4.split('.').slice(0, 3).join('.')}.0/24`;
  const withoutZone = address.split('%')[0]!;
  if (!isIPv6(withoutZone)) return address;
  return `${ipv6Groups(withoutZone)
    .slice(0, ipv6Bits / 16)
    .join(':')}::/${ipv6Bits}`;
}

/** The eight 16-bit groups of a valid IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const split = (part: string) => (part === '' ? [] : part.split(':').flatMap(expandIpv4));
  const left = split(head);
  const right = tail === undefined ? [] : split(tail);
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}

/** An embedded dotted IPv4 tail (`::1.2.3.4`) is two groups. */
function expandIpv4(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
