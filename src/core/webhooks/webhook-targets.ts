// Where webhooks may be sent: the URL's shape when a webhook is made, and the addresses a delivery may connect to.
import { BlockList, isIP, isIPv4 } from 'node:net';
import { ImgdError } from '../errors.js';

/** Longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048;

/**
 * Addresses that are not the public internet: unspecified, this-network, private, shared (CGNAT), loopback,
 * link-local, IETF and documentation ranges, benchmarking, multicast, reserved and broadcast; for IPv6 also
 * unique-local, site-local, discard, documentation and multicast. IPv4 carried in IPv6 is checked as IPv4.
 */
const V4_REFUSED: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const V6_REFUSED: ReadonlyArray<readonly [string, number]> = [
  ['::', 96], // unspecified, loopback and the old IPv4-compatible form
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const refused = new BlockList();
for (const [net, prefix] of V4_REFUSED) refused.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of V6_REFUSED) refused.addSubnet(net, prefix, 'ipv6');

/** The 16 bytes of a valid IPv6 address (zone id dropped, dotted IPv4 tail understood). */
function v6Bytes(address: string): number[] {
  let text = address.split('%')[0]!;
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, text.lastIndexOf(':') + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(rest);
  const words = rest === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The IPv4 address an IPv6 one carries: IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16). */
function embeddedV4(bytes: readonly number[]): string | undefined {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return bytes.slice(12).join('.');
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6).join('.');
  return undefined;
}

/** Whether a delivery may connect to this IP address (IPv4 or IPv6) when private targets are not allowed. */
export function isPublicAddress(address: string): boolean {
  if (isIPv4(address)) return !refused.check(address, 'ipv4');
  if (isIP(address) !== 6) return false;
  const v4 = embeddedV4(v6Bytes(address));
  if (v4 !== undefined) return !refused.check(v4, 'ipv4');
  return !refused.check(address.split('%')[0]!, 'ipv6');
}

/** The host of a URL as an address or name: IPv6 literals without their brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

const isLocalName = (host: string): boolean => /^localhost\.?$/i.test(host) || /\.localhost\.?$/i.test(host);

/**
 * Checks a webhook URL when it is created: absolute http(s), no credentials or fragment, a host; with private
 * targets refused, also no literal private address and no localhost name (names are checked again after
 * resolution at every delivery). Answers the URL as it will be stored.
 */
export function checkWebhookUrl(input: string, allowPrivate: boolean): string {
  const invalid = (why: string): ImgdError => new ImgdError('invalid_webhook_url', `The webhook URL ${why}.`);
  if (input.length > MAX_URL_LENGTH) throw invalid(`is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw invalid('is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username !== '' || url.password !== '') throw invalid('must not carry a user name or password');
  if (url.hash !== '') throw invalid('must not have a fragment (#...)');
  const host = hostOf(url);
  if (host === '') throw invalid('has no host');
  if (!allowPrivate && (isLocalName(host) || (isIP(host) !== 0 && !isPublicAddress(host)))) {
    throw new ImgdError('webhook_target_refused', `The webhook URL points at a private, loopback or link-local address (${host}); only public targets are allowed here.`, { host });
  }
  return url.toString();
}
