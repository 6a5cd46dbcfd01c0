// Offload to nginx (SENDFILE=x-accel): imgd decides access and headers, nginx sends the file from the store's layout.
import type { Config } from '../config.js';

/**
 * The headers that hand a full answer's body to nginx: `X-Accel-Redirect` to the internal location that maps onto
 * the disk store (deploy/nginx/imgd.conf), under the same key the store keeps the bytes. Undefined when off.
 */
export function offloadHeaders(sendfile: Config['sendfile'], blobKey: string): Record<string, string> | undefined {
  if (sendfile.mode === 'off') return undefined;
  return { 'x-accel-redirect': `${sendfile.prefix}${blobKey}` };
}

/**
 * `X-Accel-Expires`: how many seconds nginx's micro-cache (deploy/nginx/imgd-microcache.conf) may keep this answer
 * and send it without asking imgd. Only an answer anyone may have (`anyone`: a full GET of a public image by an
 * anonymous request without a share signature) gets SENDFILE_CACHE_SECONDS; every other one says 0, which nginx
 * obeys over any caching its own configuration asks for, so nothing private is ever stored. Undefined when off.
 */
export function offloadExpires(sendfile: Config['sendfile'], anyone: boolean): string | undefined {
  if (sendfile.mode === 'off') return undefined;
  return String(anyone ? sendfile.cacheSeconds : 0);
}
