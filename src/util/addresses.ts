import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * An IP address written as node's `net.isIP` accepts it: IPv4 as four decimal parts, IPv6 in any of its
 * forms (with a zone, or an embedded dotted IPv4 tail). Anything else is not an address: ipaddr.js
 * alone would also read `127.1` or `0x7f.0.0.1`, which neither node nor Python's ipaddress do.
 */
function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  const tail = text.split('%', 1)[0]!.split(':').at(-1)!;
  if (tail.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined;
  return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : undefined;
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack socket shows an IPv4 peer) as the IPv4 address it is. */
function unmapped(address: Address): Address {
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

/**
 * `address` cut to its first `ipv4Bits` (24 or 32) or `ipv6Bits` (48 or 64): the address itself for
 * IPv4 /32, `a.b.c.0/24`, or `a:b:c[:d]::/n` in lower-case hex. An IPv4-mapped address counts as its
 * IPv4 address; anything that is not an address is its own key.
 */
export function prefixKey(address: string, ipv4Bits: 24 | 32, ipv6Bits: 48 | 64): string {
  const parsed = parseAddress(address);
  if (!parsed) return address;
  const ip = unmapped(parsed);
  if (ip instanceof ipaddr.IPv4) return ipv4Bits === 32 ? ip.octets.join('.') : `${ip.octets.slice(0, 3).join('.')}.0/24`;
  return `${ip.parts
    .slice(0, ipv6Bits / 16)
    .map((part) => part.toString(16))
    .join(':')}::/${ipv6Bits}`;
}

/** An address or network as `address[/prefix]`, or undefined when it is neither (a bad address, a prefix out of range). */
function parseNetwork(entry: string): [Address, number] | undefined {
  const [text = '', prefix, ...rest] = entry.split('/');
  const address = parseAddress(text);
  if (!address || rest.length > 0) return undefined;
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  if (length < 0 || length > bits) return undefined;
  // A network of IPv4-mapped addresses is the IPv4 network it maps.
  if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && length >= 96) return [address.toIPv4Address(), length - 96];
  return [address, length];
}

/** Whether `entry` is an IP address or a network (`address/prefix`, host bits allowed). */
export function isAddressOrNetwork(entry: string): boolean {
  return parseNetwork(entry) !== undefined;
}

/**
 * A list of addresses and networks that a peer's address is checked against. An IPv4 entry also
 * matches the peer's IPv4-mapped IPv6 form, and a mapped entry its IPv4 form, so one list serves a
 * server listening on IPv4 or dual-stack.
 */
export class AddressList {
  private readonly networks: [Address, number][] = [];

  /** Adds an address or network; false (and nothing added) when `entry` is neither. */
  add(entry: string): boolean {
    const network = parseNetwork(entry);
    if (network) this.networks.push(network);
    return network !== undefined;
  }

  includes(address: string): boolean {
    const parsed = parseAddress(address);
    if (!parsed) return false;
    const ip = unmapped(parsed);
    return this.networks.some(([network, bits]) => network.kind() === ip.kind() && ip.match(network, bits));
  }
}
