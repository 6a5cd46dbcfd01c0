// The browser entry: Uppy's styles, ours, and the app mounted into the shell's #app.
import '@uppy/core/css/style.min.css';
import '@uppy/dashboard/css/style.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './app';
import { restoreSession } from './session';

const root = document.getElementById('app');
if (root) {
  root.replaceChildren();
  render(<App />, root);
  void restoreSession();
}
