// Choosing images in a grid: click or Space/Enter toggles one, Shift selects the range from the last one chosen, and
// the arrow keys move between tiles (Shift+arrow takes the next tile into the selection too).
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

export interface Selection {
  readonly ids: readonly string[];
  readonly size: number;
  has(id: string): boolean;
  /** Toggles the image at `index`, or with `range` selects everything from the last toggled one to it. */
  toggle(index: number, range: boolean): void;
  /** Adds these images; the last one becomes where a Shift range starts. */
  add(...indexes: number[]): void;
  all(): void;
  clear(): void;
}

export function useSelection(order: readonly string[]): Selection {
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const anchor = useRef<number | null>(null);
  // Images that left the list (trashed, filtered out) leave the selection too.
  useEffect(() => {
    setChosen((old) => {
      const present = new Set(order);
      const kept = [...old].filter((id) => present.has(id));
      return kept.length === old.size ? old : new Set(kept);
    });
  }, [order]);
  return useMemo(() => {
    const ids = order.filter((id) => chosen.has(id));
    return {
      ids,
      size: ids.length,
      has: (id) => chosen.has(id),
      toggle(index, range) {
        const id = order[index];
        if (id === undefined) return;
        const next = new Set(chosen);
        if (range && anchor.current !== null) {
          const [from, to] = anchor.current < index ? [anchor.current, index] : [index, anchor.current];
          for (const each of order.slice(from, to + 1)) next.add(each);
        } else if (next.has(id)) next.delete(id);
        else next.add(id);
        anchor.current = index;
        setChosen(next);
      },
      add(...indexes) {
        const ids = indexes.map((i) => order[i]).filter((id): id is string => id !== undefined);
        if (ids.length === 0) return;
        anchor.current = indexes.at(-1)!;
        setChosen(new Set([...chosen, ...ids]));
      },
      all: () => setChosen(new Set(order)),
      clear() {
        anchor.current = null;
        setChosen(new Set());
      },
    };
  }, [order, chosen]);
}

const ARROWS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown']);

/** How many tiles sit in the first row of the grid (its column count at this width). */
function columns(tiles: HTMLElement[]): number {
  const top = tiles[0]?.offsetTop;
  const n = tiles.filter((t) => t.offsetTop === top).length;
  return Math.max(1, n);
}

/**
 * Arrow keys on a tile's control move the focus to the same control (`data-nav`) of the neighbouring tile; Shift also
 * selects it. Enter on a tile's checkbox toggles it, as Space does.
 */
export function gridKeys(selection: Selection): (event: JSX.TargetedKeyboardEvent<HTMLElement>) => void {
  return (event) => {
    const target = event.target as HTMLElement;
    const nav = target.dataset.nav;
    const tile = target.closest<HTMLElement>('[data-index]');
    if (!nav || !tile) return;
    const index = Number(tile.dataset.index);
    if (event.key === 'Enter' && nav === 'check') {
      event.preventDefault();
      selection.toggle(index, event.shiftKey);
      return;
    }
    if (!ARROWS.has(event.key)) return;
    const tiles = [...event.currentTarget.querySelectorAll<HTMLElement>('[data-index]')];
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(tiles), ArrowDown: columns(tiles) }[event.key]!;
    const next = tiles[index + step];
    if (!next) return;
    event.preventDefault();
    next.querySelector<HTMLElement>(`[data-nav="${nav}"]`)?.focus();
    if (event.shiftKey) selection.add(index, index + step);
  };
}
