// Content-Disposition with a file name any client reads: an ASCII fallback, and RFC 8187's UTF-8 form when it differs.

function disposition(type: 'attachment' | 'inline', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return ascii === name ? `${type}; filename="${ascii}"` : `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A download under `name`. */
export const attachment = (name: string): string => disposition('attachment', name);

/** Shown in the browser, saved under `name`. */
export const inline = (name: string): string => disposition('inline', name);
