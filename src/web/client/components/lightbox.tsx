// A full-window view of one image of a list, with previous and next (buttons, arrow keys) and Escape to close.
import { useEffect, useRef } from 'preact/hooks';
import { imageName } from '../format';
import { Link } from '../router';
import type { Image } from '../types';
import { Picture } from './picture';

interface LightboxProps {
  readonly images: readonly Image[];
  readonly index: number;
  readonly onMove: (index: number) => void;
  readonly onClose: () => void;
}

export function Lightbox({ images, index, onMove, onClose }: LightboxProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const image = images[index];
  const hasPrevious = index > 0;
  const hasNext = index < images.length - 1;

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
    return () => el?.close();
  }, []);

  if (!image) return null;
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'ArrowLeft' && hasPrevious) onMove(index - 1);
    else if (event.key === 'ArrowRight' && hasNext) onMove(index + 1);
    else return;
    event.preventDefault();
  };
  return (
    <dialog
      ref={dialog}
      class="lightbox"
      aria-label={`${imageName(image)}, image ${index + 1} of ${images.length}`}
      onKeyDown={onKeyDown}
      // Escape closes a modal dialog by itself; this keeps the page's state in step.
      onClose={onClose}
    >
      <div class="lightbox-bar">
        <span class="lightbox-title">
          {imageName(image)} <span class="muted">({index + 1} of {images.length})</span>
        </span>
        <Link href={`/app/images/${encodeURIComponent(image.id)}`}>Details</Link>
        <button type="button" onClick={() => dialog.current?.close()} autoFocus>
          Close
        </button>
      </div>
      <div class="lightbox-stage">
        <button type="button" class="lightbox-nav" onClick={() => onMove(index - 1)} disabled={!hasPrevious} aria-label="Previous image">
          ‹
        </button>
        <Picture key={image.id} image={image} variant="medium" alt={image.description ?? imageName(image)} eager />
        <button type="button" class="lightbox-nav" onClick={() => onMove(index + 1)} disabled={!hasNext} aria-label="Next image">
          ›
        </button>
      </div>
    </dialog>
  );
}
