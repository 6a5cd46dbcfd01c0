// An image with its ThumbHash placeholder drawn until the bytes arrive; private images are fetched with the credential.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { thumbHashToDataURL } from 'thumbhash';
import { authHeader, sameOrigin } from '../api';
import { bytesFromBase64 } from '../format';
import type { Image } from '../types';

function placeholderUrl(placeholder: string | null): string | undefined {
  if (!placeholder) return undefined;
  try {
    return thumbHashToDataURL(bytesFromBase64(placeholder));
  } catch {
    return undefined; // a malformed hash just means no placeholder
  }
}

/** The URL to show: a variant if the server makes them, else the original (also when processing failed: the bytes are fine). */
export function sourceOf(image: Image, variant: string | undefined): string {
  if (image.status === 'failed' || variant === undefined) return image.url;
  return image.variants[variant] ?? image.url;
}

/** <img> cannot send Authorization, so a private image is fetched and shown from a blob: URL. */
function usePrivateSource(url: string | undefined): { src: string | undefined; failed: boolean } {
  const [state, setState] = useState<{ src: string | undefined; failed: boolean }>({ src: undefined, failed: false });
  useEffect(() => {
    if (url === undefined) return undefined;
    let objectUrl: string | undefined;
    let cancelled = false;
    setState({ src: undefined, failed: false });
    fetch(sameOrigin(url), { headers: authHeader() })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}`);
        const blob = await res.blob();
        if (cancelled) return;
        objectUrl = URL.createObjectURL(blob);
        setState({ src: objectUrl, failed: false });
      })
      .catch(() => {
        if (!cancelled) setState({ src: undefined, failed: true });
      });
    return () => {
      cancelled = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);
  return state;
}

interface PictureProps {
  image: Image;
  variant?: string;
  alt: string;
  /** Fill a square cell (gallery) rather than keep the image's own proportions. */
  cover?: boolean;
  eager?: boolean;
}

export function Picture({ image, variant, alt, cover = false, eager = false }: PictureProps) {
  const placeholder = useMemo(() => placeholderUrl(image.placeholder), [image.placeholder]);
  const source = sourceOf(image, variant);
  const isPrivate = image.visibility === 'private';
  const fetched = usePrivateSource(isPrivate ? source : undefined);
  const src = isPrivate ? fetched.src : source;
  // Which source loaded or failed, not a flag reset by an effect: a cached image can load before effects run.
  const [loadedSrc, setLoadedSrc] = useState<string>();
  const [brokenSrc, setBrokenSrc] = useState<string>();
  const loaded = src !== undefined && loadedSrc === src;
  const broken = src !== undefined && brokenSrc === src;

  const style: Record<string, string> = {};
  if (placeholder) style.backgroundImage = `url("${placeholder}")`;
  if (!cover && image.width > 0 && image.height > 0) style.aspectRatio = `${image.width} / ${image.height}`;
  const unavailable = broken || fetched.failed;

  return (
    <span class={`picture${cover ? ' cover' : ''}${loaded ? ' loaded' : ''}`} style={style} data-placeholder={placeholder ? 'thumbhash' : 'none'}>
      {src && !broken && (
        <img
          src={src}
          alt={alt}
          width={image.width || undefined}
          height={image.height || undefined}
          loading={eager ? 'eager' : 'lazy'}
          decoding="async"
          onLoad={() => setLoadedSrc(src)}
          onError={() => setBrokenSrc(src)}
        />
      )}
      {unavailable && <span class="picture-note">No preview</span>}
    </span>
  );
}
