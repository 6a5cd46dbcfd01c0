// Rasterizing SVG: the density librsvg draws at, so a variant is drawn at its size rather than stretched to it.
export const SVG_BASE_DENSITY = 72;
/** sharp refuses densities above this. */
const MAX_DENSITY = 100_000;

export interface Box {
  readonly width: number | null;
  readonly height: number | null;
}

/**
 * A vector has no pixel size of its own: the declared size (at 72 dpi) is drawn larger when the variant asks for
 * more, up to the pixel limit. One pixel of margin, so rounding never leaves the drawing a pixel short.
 */
export function svgDensity(intrinsic: { readonly width: number; readonly height: number }, target: Box, pixelLimit: number): number {
  const want = Math.max(((target.width ?? 0) + 1) / intrinsic.width, ((target.height ?? 0) + 1) / intrinsic.height, 1);
  const room = Math.sqrt(pixelLimit / (intrinsic.width * intrinsic.height));
  const scale = Math.max(1, Math.min(want, room));
  return Math.min(MAX_DENSITY, SVG_BASE_DENSITY * scale);
}
