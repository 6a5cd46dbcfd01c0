// The security headers every response carries; images may be embedded by other sites, everything else stays on this origin.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

export const resourcePolicyFor = (url: string): string => (url.startsWith('/i/') ? 'cross-origin' : 'same-origin');

/** Every security header of a response to this URL: what the router's onSend adds, and the fast lane replays. */
export const securityHeadersFor = (url: string): Record<string, string> => ({ ...SECURITY_HEADERS, 'cross-origin-resource-policy': resourcePolicyFor(url) });
