// Functions that run inside the page (handed to page.evaluate, so each stands alone). The few DOM names they use are
// declared here for this file only: the project's tsconfig has no DOM lib, which would leak into the server's types.

interface PageNode {
  readonly classList: { contains(name: string): boolean };
  querySelector<T = PageNode>(selector: string): T | null;
  getAttribute(name: string): string | null;
  closest(selector: string): PageNode | null;
  dispatchEvent(event: unknown): boolean;
}
interface PageImage extends PageNode {
  readonly complete: boolean;
  readonly naturalWidth: number;
  readonly src: string;
}
interface PageProgress extends PageNode {
  readonly value: number;
}
declare const document: {
  querySelector<T = PageNode>(selector: string): T | null;
  querySelectorAll<T = PageNode>(selector: string): Iterable<T>;
  readonly documentElement: { readonly scrollWidth: number };
  readonly body: unknown;
  dispatchEvent(event: unknown): boolean;
};
declare const window: { readonly innerWidth: number; partialProgress?: Set<string> };
declare const navigator: { readonly clipboard: { readText(): Promise<string> } };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: unknown, options: Record<string, boolean>): void;
}
declare class DataTransfer {
  readonly items: { add(file: File): void };
}
declare class DragEvent {
  constructor(type: string, init: { bubbles: boolean; cancelable: boolean; dataTransfer: DataTransfer });
}
declare class ClipboardEvent {
  constructor(type: string, init: { bubbles: boolean; cancelable: boolean; clipboardData: DataTransfer });
}

/** Remembers each upload row whose progress bar shows a value strictly between 0 and 100. */
export function watchProgress(): void {
  const seen = new Set<string>();
  window.partialProgress = seen;
  new MutationObserver(() => {
    for (const bar of document.querySelectorAll<PageProgress>('.result progress')) {
      if (bar.value > 0 && bar.value < 100) seen.add(bar.closest('[data-file]')?.getAttribute('data-file') ?? '');
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true });
}

export const partialProgress = (): string[] => [...(window.partialProgress ?? [])];

/** Drops one JPEG (base64) on Uppy's dashboard and pastes another into the page, as a person would. */
export function dropAndPaste([dropped, pasted]: readonly [string, string]): void {
  const files = [new DataTransfer(), new DataTransfer()];
  for (const [i, [name, base64]] of [['dropped.jpg', dropped], ['pasted.jpg', pasted]].entries()) {
    files[i]?.items.add(new File([Uint8Array.from(atob(base64 ?? ''), (c) => c.charCodeAt(0))], name ?? '', { type: 'image/jpeg' }));
  }
  const [dropData, pasteData] = files;
  const zone = document.querySelector('.uppy-Dashboard-inner');
  if (!zone || !dropData || !pasteData) throw new Error('no dashboard on the page');
  for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dropData }));
  document.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: pasteData }));
}

/** True once the container has pictures and every one has loaded and shows its pixels (not just its placeholder). */
export function picturesShown(container: string): boolean {
  const pictures = [...document.querySelectorAll(`${container} .picture`)];
  return (
    pictures.length > 0 &&
    pictures.every((p) => {
      const img = p.querySelector<PageImage>('img');
      return p.classList.contains('loaded') && img !== null && img.naturalWidth > 0;
    })
  );
}

/** True once the detail view shows a private image from a blob: URL (fetched with the credential). */
export const privateImageShown = (): boolean => {
  const img = document.querySelector<PageImage>('.detail-media > .picture img');
  return Boolean(img?.src.startsWith('blob:') && img.complete && img.naturalWidth > 0);
};

export const firstImageWidth = (): number => document.querySelector<PageImage>('img')?.naturalWidth ?? 0;

export const clipboardText = (): Promise<string> => navigator.clipboard.readText();

/** How far the page scrolls sideways (0 when it fits the screen). */
export const sidewaysOverflow = (): number => document.documentElement.scrollWidth - window.innerWidth;

/** True once the container has plain <img> elements (a server-made page, no .picture) and every one shows its pixels. */
export function imagesLoaded(container: string): boolean {
  const images = [...document.querySelectorAll<PageImage>(`${container} img`)];
  return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
}
