// File-name helpers of the Python libraries the seeds used, as they behave: werkzeug's secure_filename, Starlette's Content-Disposition.

/** Python's str.split() also splits at the information separators U+001C to U+001F, which JavaScript's \s leaves. */
const isSeparator = (code: number): boolean => code >= 0x1c && code <= 0x1f;

/**
 * werkzeug.utils.secure_filename (seed 004's original_filename): NFKD, non-ASCII dropped, `/` a space, whitespace runs
 * one `_`, characters other than `A-Za-z0-9_.-` dropped, `.` and `_` stripped at both ends. May return "".
 */
export function secureFilename(name: string): string {
  const ascii = [...name.normalize('NFKD')]
    .filter((ch) => ch.charCodeAt(0) < 0x80)
    .map((ch) => (ch === '/' || isSeparator(ch.charCodeAt(0)) ? ' ' : ch))
    .join('');
  const joined = ascii.split(/\s+/).filter((part) => part !== '').join('_');
  return joined.replace(/[^A-Za-z0-9_.-]/g, '').replace(/^[._]+|[._]+$/g, '');
}

/** urllib.parse.quote with its default safe "/": UTF-8 bytes, everything but `A-Za-z0-9_.-~/` percent-encoded in upper case. */
export function pythonQuote(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~/]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Starlette's FileResponse header for a download: `filename="<name>"` when quoting leaves the name as it is, else
 * `filename*=utf-8''<quoted>` (space, non-ASCII, quotes...).
 */
export function attachmentDisposition(name: string): string {
  const quoted = pythonQuote(name);
  return quoted === name ? `attachment; filename="${name}"` : `attachment; filename*=utf-8''${quoted}`;
}

/**
 * The extension after a name's last `.`, lowercased, without the dot; the whole name lowercased when it has no `.`
 * (seed 002's `filename.split('.')[-1].lower()`).
 */
export const lastDotSuffix = (name: string): string => name.slice(name.lastIndexOf('.') + 1).toLowerCase();
