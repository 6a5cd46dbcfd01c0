// A tile's checkbox in a grid of images (the gallery, the trash): checked with the selection; Shift-click extends it.
import type { Selection } from './selection';

export function TileCheck({ selection, index, id, name }: { selection: Selection; index: number; id: string; name: string }) {
  return (
    <input
      type="checkbox"
      class="tile-check"
      data-nav="check"
      checked={selection.has(id)}
      aria-label={`Select ${name}`}
      // No preventDefault: a cancelled click puts the box back after the render that checked it.
      onClick={(e) => selection.toggle(index, e.shiftKey)}
    />
  );
}
