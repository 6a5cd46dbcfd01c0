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
