// A small history-API router: the current location as a hook, navigate(), and <Link> for in-app links.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  path: string;
  query: URLSearchParams;
}

const read = (): Location => ({ path: location.pathname, query: new URLSearchParams(location.search) });
const listeners = new Set<() => void>();
const notify = () => {
  for (const listener of listeners) listener();
};
window.addEventListener('popstate', notify);

/** Set by a navigation the person made (a link, a button), so the new page's heading takes the focus. */
let movedByUser = false;
export const takeNavigationFocus = (): boolean => {
  const moved = movedByUser;
  movedByUser = false;
  return moved;
};

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  movedByUser = !options.replace;
  notify();
  if (!options.replace) window.scrollTo(0, 0);
}

export function useLocation(): Location {
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const listener = () => setCurrent(read());
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return current;
}

type AnchorProps = JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

/** An ordinary link that the router follows without reloading; modified clicks open tabs as usual. */
export function Link({ href, onClick, ...rest }: AnchorProps) {
  const follow = (event: JSX.TargetedMouseEvent<HTMLAnchorElement>) => {
    if (typeof onClick === 'function') onClick(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={follow} {...rest} />;
}

/** /k/product/42/main -> "product/42/main" */
export const keyFromPath = (path: string): string =>
  path
    .slice('/k/'.length)
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment; // a stray % is taken literally
      }
    })
    .join('/');

export const keyPath = (key: string): string => `/k/${key.split('/').map(encodeURIComponent).join('/')}`;
