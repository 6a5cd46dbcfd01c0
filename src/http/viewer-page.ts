// The HTML of the viewer pages: an image or an album, with the Open Graph and Twitter card tags link previews read.

const escape = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;');

export interface Preview {
  readonly title: string;
  readonly description: string;
  /** The page's own URL (what og:url names). */
  readonly pageUrl: string;
  readonly image: { readonly url: string; readonly width: number; readonly height: number; readonly type: string; readonly alt: string } | null;
}

export interface ViewerImage {
  readonly pageUrl: string;
  readonly rawUrl: string;
  /** What the page shows: a variant within the screen, or the original. */
  readonly displayUrl: string;
  readonly thumbUrl: string;
  readonly alt: string;
  readonly facts: string;
}

/** Only inline styles, no script; images from this server only. */
export const VIEWER_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#111;color:#eee}
main{max-width:1100px;margin:0 auto;padding:16px}h1{font-size:1.2rem;margin:0 0 12px;overflow-wrap:anywhere}
figure{margin:0;text-align:center}figure img{max-width:100%;max-height:80vh;height:auto}
p{color:#bbb;overflow-wrap:anywhere}a{color:#8cf}
ul.grid{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
ul.grid img{width:100%;aspect-ratio:1;object-fit:cover;display:block;background:#222}`;

function metaTags(preview: Preview): string {
  const tags: Array<[string, string, string]> = [
    ['property', 'og:type', 'website'],
    ['property', 'og:site_name', 'imgd'],
    ['property', 'og:title', preview.title],
    ['property', 'og:description', preview.description],
    ['property', 'og:url', preview.pageUrl],
    ['name', 'twitter:card', preview.image ? 'summary_large_image' : 'summary'],
    ['name', 'twitter:title', preview.title],
    ['name', 'twitter:description', preview.description],
    ['name', 'description', preview.description],
  ];
  if (preview.image) {
    const { url, width, height, type, alt } = preview.image;
    tags.push(
      ['property', 'og:image', url],
      ['property', 'og:image:type', type],
      ['property', 'og:image:width', String(width)],
      ['property', 'og:image:height', String(height)],
      ['property', 'og:image:alt', alt],
      ['name', 'twitter:image', url],
      ['name', 'twitter:image:alt', alt],
    );
  }
  return tags.map(([attr, name, content]) => `<meta ${attr}="${name}" content="${escape(content)}">`).join('\n');
}

function page(preview: Preview, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(preview.title)} · imgd</title>
<link rel="icon" href="data:,">
${metaTags(preview)}
<style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

export function imagePage(preview: Preview, image: ViewerImage): string {
  return page(
    preview,
    `<h1>${escape(preview.title)}</h1>
<figure><a href="${escape(image.rawUrl)}"><img src="${escape(image.displayUrl)}" alt="${escape(image.alt)}"></a></figure>
<p>${escape(image.facts)} · <a href="${escape(image.rawUrl)}" rel="nofollow">Raw image</a></p>`,
  );
}

export function albumPage(preview: Preview, images: readonly ViewerImage[]): string {
  const items = images
    .map((i) => `<li><a href="${escape(i.pageUrl)}"><img src="${escape(i.thumbUrl)}" alt="${escape(i.alt)}" loading="lazy"></a></li>`)
    .join('\n');
  return page(preview, `<h1>${escape(preview.title)}</h1>\n<p>${escape(preview.description)}</p>\n<ul class="grid">${items}</ul>`);
}

export function missingPage(what: string): string {
  return page({ title: 'Not found', description: `No such ${what}, or the link has expired.`, pageUrl: '', image: null }, `<h1>Not found</h1><p>No such ${escape(what)} here, or the link has expired.</p>`);
}
