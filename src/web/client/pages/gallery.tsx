// The gallery: the user's images (an admin's: everyone's) as thumbnails, searched by name, key or description,
// filtered by key, status and owner, loaded page by page with the API's cursor as the end of the grid comes into view.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { BulkBar } from '../components/bulk-bar';
import { Lightbox } from '../components/lightbox';
import { Picture } from '../components/picture';
import { gridKeys, useSelection } from '../components/selection';
import { TileCheck } from '../components/tile-check';
import { formatBytes, imageName } from '../format';
import { Link, navigate, type Location } from '../router';
import type { Image, ImagePage, ImageSort, User } from '../types';

const SORTS: Array<[ImageSort, string]> = [
  ['newest', 'Newest first'],
  ['oldest', 'Oldest first'],
  ['name', 'Name'],
  ['size', 'Largest first'],
];

const PAGE_SIZE = 30;
/** How long typing pauses before the search is sent. */
const SEARCH_DELAY_MS = 250;

export function useUsers(enabled: boolean): User[] {
  const [users, setUsers] = useState<User[]>([]);
  useEffect(() => {
    if (!enabled) return;
    api<{ items: User[] }>('/api/v1/users')
      .then((answer) => setUsers(answer.items))
      .catch(() => setUsers([]));
  }, [enabled]);
  return users;
}

export function GalleryPage({ location, admin }: { location: Location; admin: boolean }) {
  const key = location.query.get('key') ?? '';
  const status = location.query.get('status') ?? '';
  const owner = location.query.get('owner') ?? '';
  const q = location.query.get('q') ?? '';
  const sort = location.query.get('sort') ?? '';
  const [search, setSearch] = useState(q);
  const [keyDraft, setKeyDraft] = useState(key);
  const [items, setItems] = useState<Image[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const users = useUsers(admin);
  const generation = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);
  const order = useMemo(() => items.map((i) => i.id), [items]);
  const selection = useSelection(order);
  const [viewing, setViewing] = useState<number | null>(null);

  const fetchPage = async (after: string | null, replace: boolean) => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (after) query.set('cursor', after);
    if (key) query.set('key', key);
    if (status) query.set('status', status);
    if (owner) query.set('owner', owner);
    if (q) query.set('q', q);
    if (sort) query.set('sort', sort);
    try {
      const page = await api<ImagePage>(`/api/v1/images?${query}`);
      if (mine !== generation.current) return;
      setItems((old) => (replace ? page.items : [...old, ...page.items]));
      setCursor(page.next_cursor);
    } catch (err) {
      if (mine === generation.current) setError(messageOf(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    setKeyDraft(key);
    setSearch((typed) => (typed.trim() === q ? typed : q));
    setItems([]);
    setCursor(null);
    void fetchPage(null, true);
  }, [key, status, owner, q, sort]);

  // The search box drives ?q= once typing pauses; the address then keeps the search for reloads and links.
  useEffect(() => {
    if (search.trim() === q) return undefined;
    const timer = window.setTimeout(() => setFilter('q', search.trim(), { replace: true }), SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [search, q]);

  // Infinite scroll: the next page loads when the end of the grid comes into view; the button does the same by hand.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor || loading || typeof IntersectionObserver === 'undefined') return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void fetchPage(cursor, false);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [cursor, loading]);

  function setFilter(name: string, value: string, options: { replace?: boolean } = {}) {
    const query = new URLSearchParams(window.location.search);
    if (value) query.set(name, value);
    else query.delete(name);
    const qs = query.toString();
    navigate(`/app/gallery${qs ? `?${qs}` : ''}`, options);
  }
  const ownerName = useMemo(() => new Map(users.map((u) => [u.id, u.username])), [users]);

  return (
    <div class="page">
      <h1 tabIndex={-1}>{admin ? 'All images' : 'Your images'}</h1>
      <form
        class="filters card"
        role="search"
        aria-label="Filter images"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter('key', keyDraft.trim());
        }}
      >
        <div>
          <label for="filter-search">Search</label>
          <input
            id="filter-search"
            type="search"
            placeholder="name, key or description"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
            onKeyDown={(e) => {
              // Enter searches at once instead of applying the key filter.
              if (e.key === 'Enter') {
                e.preventDefault();
                setFilter('q', search.trim(), { replace: true });
              }
            }}
          />
        </div>
        <div>
          <label for="filter-key">Key</label>
          <div class="inline">
            <input id="filter-key" placeholder="exact key" value={keyDraft} onInput={(e) => setKeyDraft(e.currentTarget.value)} />
            <button type="submit">Apply</button>
          </div>
        </div>
        <div>
          <label for="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="ready">Ready</option>
            <option value="processing">Processing</option>
            <option value="failed">Failed</option>
          </select>
        </div>
        <div>
          <label for="filter-sort">Sort</label>
          <select id="filter-sort" value={sort || 'newest'} onChange={(e) => setFilter('sort', e.currentTarget.value === 'newest' ? '' : e.currentTarget.value)}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        {admin && (
          <div>
            <label for="filter-owner">Owner</label>
            <select id="filter-owner" value={owner} onChange={(e) => setFilter('owner', e.currentTarget.value)}>
              <option value="">Everyone</option>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.username}
                </option>
              ))}
            </select>
          </div>
        )}
      </form>

      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <p class="muted" role="status">
        {loading && items.length === 0
          ? 'Loading…'
          : `${items.length}${cursor ? '+' : ''} image${items.length === 1 ? '' : 's'}${q ? ` matching “${q}”` : ''}${cursor ? ', more load as you scroll' : ''}`}
      </p>
      {!loading && items.length === 0 && !error && (
        <p class="empty">
          {q || key || status || owner ? (
            'No image matches.'
          ) : (
            <>
              No images here yet. <Link href="/app/upload">Upload some</Link>.
            </>
          )}
        </p>
      )}
      {items.length > 0 && (
        <BulkBar
          selection={selection}
          onChanged={(removed) => {
            if (removed.length > 0) setItems((old) => old.filter((i) => !removed.includes(i.id)));
            else void fetchPage(null, true);
          }}
        />
      )}
      <ul class="grid" aria-label="Images" onKeyDown={gridKeys(selection)}>
        {items.map((image, index) => (
          <li key={image.id} class={`tile${selection.has(image.id) ? ' selected' : ''}`} data-id={image.id} data-index={index}>
            <TileCheck selection={selection} index={index} id={image.id} name={imageName(image)} />
            <button type="button" class="tile-view" data-nav="view" aria-label={`View ${imageName(image)}`} onClick={() => setViewing(index)}>
              <Picture image={image} variant="small" alt="" cover />
            </button>
            <Link href={`/app/images/${encodeURIComponent(image.id)}`} class="tile-link" data-nav="link">
              <span class="tile-caption">
                <span class="tile-name">{imageName(image)}</span>
                <span class="tile-meta">
                  {image.visibility === 'private' && <span class="badge">private</span>}
                  {image.status !== 'ready' && <span class={`badge ${image.status}`}>{image.status}</span>}
                  {admin && image.owner_id && <span class="muted">{ownerName.get(image.owner_id) ?? ''}</span>}
                  <span class="muted">{formatBytes(image.bytes)}</span>
                </span>
              </span>
            </Link>
          </li>
        ))}
      </ul>
      {viewing !== null && <Lightbox images={items} index={viewing} onMove={setViewing} onClose={() => setViewing(null)} />}
      <div ref={sentinel} class="more">
        {cursor && (
          <button type="button" onClick={() => void fetchPage(cursor, false)} disabled={loading}>
            {loading ? 'Loading…' : 'Load more'}
          </button>
        )}
      </div>
    </div>
  );
}
