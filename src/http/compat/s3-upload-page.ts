// Seed 004's upload page for one id: pick or drop an image, POST it as `file` to /upload/<id>, show s3_url or the error.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

/** The page's Content-Security-Policy: only the inline style and script carrying this answer's nonce may run. */
export const pagePolicy = (nonce: string): string =>
  `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

/**
 * The id passes the id rule before it gets here (letters, digits, `_`, `-`), but it is escaped anyway; the script
 * reads it from a data attribute, never from text spliced into code. Self-contained: no CDN, no external asset.
 */
export function uploadPage(imageId: string, nonce: string): string {
  const id = escapeHtml(imageId);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upload image: ${id}</title>
<style nonce="${nonce}">
  body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
  #drop { border: 2px dashed #888; border-radius: 8px; padding: 2rem; text-align: center; cursor: pointer; }
  #drop.over { background: #eef; }
  #result { margin-top: 1.5rem; word-break: break-all; }
  .error { color: #b00; }
  button { margin-top: 1rem; }
</style>
</head>
<body data-image-id="${id}">
<h1>Upload image</h1>
<p>Image ID: <strong id="image-id">${id}</strong></p>
<form id="upload-form" method="post" action="/upload/${encodeURIComponent(imageId)}" enctype="multipart/form-data">
  <label id="drop" for="file">Drop an image here, or click to choose one
    <input id="file" type="file" name="file" accept="image/png,image/jpeg,image/gif,image/webp,image/bmp,image/tiff" hidden>
  </label>
  <p id="chosen"></p>
  <button type="submit" id="upload">Upload</button>
</form>
<div id="result" aria-live="polite"></div>
<script nonce="${nonce}">
(function () {
  var id = document.body.getAttribute('data-image-id');
  var form = document.getElementById('upload-form');
  var input = document.getElementById('file');
  var drop = document.getElementById('drop');
  var chosen = document.getElementById('chosen');
  var result = document.getElementById('result');
  var picked = null;
  function pick(file) { picked = file; chosen.textContent = file ? file.name : ''; }
  input.addEventListener('change', function () { pick(input.files[0] || null); });
  drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length > 0) pick(e.dataTransfer.files[0]);
  });
  function show(text, isError) {
    result.textContent = '';
    var p = document.createElement('p');
    p.textContent = text;
    if (isError) p.className = 'error';
    result.appendChild(p);
    return p;
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var data = new FormData();
    data.append('file', picked || new File([], ''), picked ? picked.name : '');
    show('Uploading…', false);
    fetch('/upload/' + encodeURIComponent(id), { method: 'POST', body: data })
      .then(function (res) { return res.json(); })
      .then(function (body) {
        if (!body.success) { show(body.error || 'Upload failed', true); return; }
        show('Uploaded:', false);
        var link = document.createElement('input');
        link.id = 's3-url';
        link.readOnly = true;
        link.value = body.s3_url;
        link.size = 60;
        result.appendChild(link);
        var copy = document.createElement('button');
        copy.type = 'button';
        copy.textContent = 'Copy URL';
        copy.addEventListener('click', function () {
          link.select();
          if (navigator.clipboard) navigator.clipboard.writeText(body.s3_url);
          else document.execCommand('copy');
          copy.textContent = 'Copied';
        });
        result.appendChild(copy);
      })
      .catch(function () { show('Upload failed', true); });
  });
})();
</script>
</body>
</html>
`;
}
