// The application frame: header and navigation, which page each path shows, and who may see it.
import { useEffect } from 'preact/hooks';
import { AdminPage } from './pages/admin';
import { AlbumPage, AlbumsPage } from './pages/albums';
import { TrashPage } from './pages/trash';
import { DetailPage } from './pages/detail';
import { GalleryPage } from './pages/gallery';
import { KeyPage } from './pages/key';
import { AccountPage } from './pages/account';
import { KeysPage } from './pages/keys';
import { SettingsPage } from './pages/settings';
import { UsersPage } from './pages/users';
import { WelcomePage } from './pages/welcome';
import { RegisterPage, SignInPage } from './pages/signin';
import { UploadPage } from './pages/upload';
import { keyFromPath, Link, navigate, takeNavigationFocus, useLocation, type Location } from './router';
import { isAdmin, signOut, useSession, type Session } from './session';

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

const NAV: Array<{ href: string; label: string; admin?: boolean; user?: boolean }> = [
  { href: '/app/upload', label: 'Upload' },
  { href: '/app/gallery', label: 'Gallery' },
  { href: '/app/albums', label: 'Albums' },
  { href: '/app/trash', label: 'Trash' },
  { href: '/app/keys', label: 'API keys' },
  { href: '/app/account', label: 'Account', user: true },
  { href: '/app/admin', label: 'Dashboard', admin: true },
  { href: '/app/users', label: 'Users', admin: true },
  { href: '/app/settings', label: 'Settings', admin: true },
];

function Header({ session, path }: { session: Session; path: string }) {
  const me = session.state === 'signed-in' ? session.me : null;
  const who = me ? (me.username ?? (me.credential === 'admin_token' ? 'admin token' : 'API key')) : null;
  return (
    <header class="topbar">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Link class="brand" href="/">
        <span class="logo" aria-hidden="true" />
        imgd
      </Link>
      {me && (
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => (!item.admin || me.role === 'admin') && (!item.user || me.username !== null)).map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={path.startsWith(item.href) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {me && (
        <div class="account">
          <span class="who" title={me.email ?? undefined}>
            {who}
            {me.role === 'admin' && <span class="badge">admin</span>}
          </span>
          <button
            type="button"
            onClick={() => {
              signOut('You have signed out.');
              navigate('/app/signin');
            }}
          >
            Sign out
          </button>
        </div>
      )}
    </header>
  );
}

const TITLES: Array<[RegExp, string]> = [
  [/^\/app\/upload/, 'Upload'],
  [/^\/app\/gallery/, 'Gallery'],
  [/^\/app\/images\//, 'Image'],
  [/^\/app\/albums/, 'Albums'],
  [/^\/app\/trash/, 'Trash'],
  [/^\/app\/keys/, 'API keys'],
  [/^\/app\/admin/, 'Dashboard'],
  [/^\/app\/account/, 'Your account'],
  [/^\/app\/users/, 'Users'],
  [/^\/app\/settings/, 'Settings'],
  [/^\/app\/welcome/, 'Create your account'],
  [/^\/app\/register/, 'Create an account'],
  [/^\/app\/signin/, 'Sign in'],
  [/^\/k\//, 'Key'],
];

function AdminsOnly({ what }: { what: string }) {
  return (
    <div class="page">
      <h1 tabIndex={-1}>Admins only</h1>
      <p>{what} is for admins.</p>
    </div>
  );
}

/** Signed in with the admin token: the way to a real account, on every page. */
function AdminTokenBanner({ path }: { path: string }) {
  if (path === '/app/welcome') return null;
  return (
    <p class="banner" role="note">
      You are signed in with the admin token, in this tab only. <Link href="/app/welcome">Create your account</Link> to sign in with a password and
      make API keys.
    </p>
  );
}

function Page({ session, location }: { session: Session; location: Location }) {
  const { path, query } = location;
  const signedIn = session.state === 'signed-in';
  const here = path + (query.toString() ? `?${query}` : '');

  if (path === '/app/signin') {
    if (signedIn) return <Redirect to={query.get('next') ?? '/app/upload'} />;
    return <SignInPage next={query.get('next')} notice={session.state === 'signed-out' ? session.notice : undefined} />;
  }
  if (path === '/app/register') return signedIn ? <Redirect to="/app/upload" /> : <RegisterPage invite={query.get('invite')} />;
  if (path.startsWith('/k/') && keyFromPath(path) !== '') {
    const token = query.get('token');
    if (signedIn || token) return <KeyPage imageKey={keyFromPath(path)} token={token} signedIn={signedIn} />;
  }
  if (!signedIn) return <Redirect to={`/app/signin${here === '/' || here === '/app' ? '' : `?next=${encodeURIComponent(here)}`}`} />;

  const admin = isAdmin(session);
  if (path === '/' || path === '/app' || path === '/app/') return <Redirect to="/app/upload" />;
  if (path === '/app/upload') return <UploadPage />;
  if (path === '/app/gallery') return <GalleryPage location={location} admin={admin} />;
  if (path.startsWith('/app/images/')) return <DetailPage id={decodeURIComponent(path.slice('/app/images/'.length))} />;
  if (path === '/app/albums') return <AlbumsPage />;
  if (path.startsWith('/app/albums/')) return <AlbumPage id={decodeURIComponent(path.slice('/app/albums/'.length))} />;
  if (path === '/app/trash') return <TrashPage admin={admin} />;
  if (path === '/app/keys') return <KeysPage admin={admin} />;
  if (path === '/app/account') return <AccountPage me={session.me} />;
  if (path === '/app/welcome') return <WelcomePage />;
  if (path === '/app/users' || path === '/app/settings') {
    if (!admin) return <AdminsOnly what={path === '/app/users' ? 'User management' : 'The settings page'} />;
    return path === '/app/users' ? <UsersPage selfId={session.me.id} /> : <SettingsPage />;
  }
  if (path === '/app/admin') return admin ? <AdminPage /> : <AdminsOnly what="The dashboard" />;
  return (
    <div class="page">
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link href="/app/upload">Go to uploads</Link>.
      </p>
    </div>
  );
}

export function App() {
  const session = useSession();
  const location = useLocation();

  useEffect(() => {
    const title = TITLES.find(([re]) => re.test(location.path))?.[1];
    document.title = title ? `${title} · imgd` : 'imgd';
  }, [location.path]);

  // After a navigation the person made, move focus to the new page's heading so screen readers announce it.
  // A page just loaded keeps the focus at its start, where the first Tab reaches the skip link.
  useEffect(() => {
    if (!takeNavigationFocus()) return;
    if (document.activeElement && document.activeElement !== document.body && !document.activeElement.closest('.topbar')) return;
    const heading = document.querySelector<HTMLElement>('main h1');
    heading?.focus({ preventScroll: true });
  }, [location.path, session.state]);

  return (
    <>
      <Header session={session} path={location.path} />
      <main id="main" tabIndex={-1}>
        {session.state === 'signed-in' && session.me.credential === 'admin_token' && <AdminTokenBanner path={location.path} />}
        {session.state === 'loading' ? <p class="page muted">Loading…</p> : <Page session={session} location={location} />}
      </main>
    </>
  );
}
