// What a refusal says to a person: the server's own words when they are plain, never a decoder library's message.

/** Codes whose detail often carries the decoder's text ("VipsJpeg: Corrupt JPEG data: found marker 0xd1 …"). */
const PLAIN: Record<string, string> = {
  corrupt_image: 'The file is damaged or incomplete: it could not be read as an image.',
  decode_timeout: 'The image took too long to read. Try a smaller file or another format.',
};

/** Words that only a library's error message has. */
const LIBRARY_TEXT = /vips|libjpeg|libpng|libheif|libwebp|libtiff|librsvg|\bsharp\b|marker 0x|input buffer|heif_|jpeglib|tiff2vips/i;

export function plainError(code: string | undefined, detail: string): string {
  if (code !== undefined && PLAIN[code]) return PLAIN[code];
  if (LIBRARY_TEXT.test(detail)) return PLAIN.corrupt_image!;
  return detail;
}
