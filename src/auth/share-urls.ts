// Signed share URLs: an image id and an expiry, HMAC-signed, so a private image can be handed out for a while.
import { createHmac } from 'node:crypto';
import { secretEquals } from '../lib/secrets.js';

export interface ShareSignature {
  readonly expires: number;
  readonly sig: string;
}

export interface ShareSigner {
  sign(imageId: string, expiresAtSeconds: number): ShareSignature;
  /** True when sig was made here for this image and has not expired. */
  verify(imageId: string, expires: string | undefined, sig: string | undefined, nowSeconds?: number): boolean;
}

/** `label` keeps one kind of link from standing for another: an album's signature is no image's. */
export function createShareSigner(secret: string, label: 'share' | 'album' = 'share'): ShareSigner {
  const mac = (imageId: string, expires: number): string =>
    createHmac('sha256', secret).update(`${label}\n${imageId}\n${expires}`).digest('base64url');
  return {
    sign(imageId, expires) {
      return { expires, sig: mac(imageId, expires) };
    },
    verify(imageId, expires, sig, nowSeconds = Math.floor(Date.now() / 1000)) {
      if (!expires || !sig || !/^\d{1,12}$/.test(expires)) return false;
      const at = Number(expires);
      return secretEquals(sig, mac(imageId, at)) && at > nowSeconds;
    },
  };
}
