// Debian's nginx as a peer: one worker on the server core, sendfile and open_file_cache, image_filter for resizing;
// and in front of imgd with its offload location and micro-cache (deploy/nginx/imgd-offload.conf,
// imgd-microcache*.conf), for imgd behind nginx.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import { commandExists, freePort, spawnPinned, waitForHttp, type Child } from './procs.js';

const MODULE = '/usr/lib/nginx/modules/ngx_http_image_filter_module.so';

export interface Nginx {
  readonly url: string;
  readonly imageFilter: boolean;
  stop(): Promise<void>;
}

/** Why nginx cannot run here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  return commandExists('nginx') ? undefined : 'nginx is not installed (apt-get install nginx libnginx-mod-http-image-filter): nginx peer skipped';
}

/** The shipped offload location, its alias pointed at this store folder. */
function offloadLocation(storeDir: string): string {
  const shipped = readFileSync(path.join(REPO_ROOT, 'deploy/nginx/imgd-offload.conf'), 'utf8');
  if (!shipped.includes('alias /var/lib/imgd/blobs/;')) throw new Error('deploy/nginx/imgd-offload.conf no longer aliases /var/lib/imgd/blobs/');
  return shipped.replace('alias /var/lib/imgd/blobs/;', `alias ${storeDir}/;`);
}

/** A shipped file of deploy/nginx with these texts (paths) replaced, each checked to be there. */
function shipped(name: string, replacements: Readonly<Record<string, string>>): string {
  let text = readFileSync(path.join(REPO_ROOT, 'deploy/nginx', name), 'utf8');
  for (const [from, to] of Object.entries(replacements)) {
    if (!text.includes(from)) throw new Error(`deploy/nginx/${name} no longer has ${from}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** The shipped micro-cache (http-level part and location), its hop's alias, socket and cache folder in `workDir`. */
function microcache(storeDir: string, workDir: string): { http: string; location: string } {
  const http = shipped('imgd-microcache-http.conf', {
    'alias /var/lib/imgd/blobs/;': `alias ${storeDir}/;`,
    '/run/imgd-nginx-hop.sock': path.join(workDir, 'hop.sock'),
    '/var/cache/nginx-imgd': path.join(workDir, 'cache'),
  });
  return { http, location: shipped('imgd-microcache.conf', {}) };
}

/** The shipped public-tree location (PUBLIC_TREE), its root pointed at this tree. */
function publicLocation(treeDir: string): string {
  const shipped = readFileSync(path.join(REPO_ROOT, 'deploy/nginx/imgd-public.conf'), 'utf8');
  if (!shipped.includes('root /var/lib/imgd/public;')) throw new Error('deploy/nginx/imgd-public.conf no longer has root /var/lib/imgd/public;');
  return shipped.replace('root /var/lib/imgd/public;', `root ${treeDir};`);
}

/**
 * `root`: the folder served as files (nginx alone). With `imgdUpstream` (host:port of an imgd with SENDFILE=x-accel),
 * everything is proxied to imgd instead, and imgd's X-Accel-Redirect answers are sent from `root` by the shipped
 * offload location: imgd behind nginx, as deploy/nginx sets it up, with the shipped micro-cache in front of /i/
 * (repeats of imgd's public answers within SENDFILE_CACHE_SECONDS are sent without asking imgd). With `publicTree`
 * (imgd's PUBLIC_TREE_DIR) too, the shipped public location sends public originals from that tree without asking imgd.
 */
export async function startNginx(root: string, workDir: string, cores: string | undefined, imgdUpstream?: string, publicTree?: string): Promise<Nginx> {
  mkdirSync(workDir, { recursive: true });
  const offload = imgdUpstream ? offloadLocation(root) : '';
  if (imgdUpstream) writeFileSync(path.join(workDir, 'offload.conf'), offload);
  const publicInclude = imgdUpstream && publicTree ? `include ${workDir}/public.conf;` : '';
  if (publicInclude) writeFileSync(path.join(workDir, 'public.conf'), publicLocation(publicTree!));
  if (imgdUpstream) {
    const cache = microcache(root, workDir);
    writeFileSync(path.join(workDir, 'microcache-http.conf'), cache.http);
    writeFileSync(path.join(workDir, 'microcache.conf'), cache.location);
  }
  const proxied = imgdUpstream
    ? `
  upstream imgd { server ${imgdUpstream}; keepalive 64; }
  include ${workDir}/microcache-http.conf;
  server {
    listen 127.0.0.1:PORT;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location / { proxy_pass http://imgd; }
    include ${workDir}/offload.conf;
    ${publicInclude}
    include ${workDir}/microcache.conf;
  }`
    : undefined;
  const port = await freePort();
  const imageFilter = existsSync(MODULE);
  const isRoot = process.getuid?.() === 0;
  const conf = `
${imageFilter ? `load_module ${MODULE};` : ''}
${isRoot ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${workDir}/nginx.pid;
error_log ${workDir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  open_file_cache max=20000 inactive=120s;
  open_file_cache_valid 120s;
  types { image/jpeg jpg jpeg; image/png png; image/webp webp; }
  default_type image/jpeg;
  client_body_temp_path ${workDir}/body;
  proxy_temp_path ${workDir}/proxy;
  fastcgi_temp_path ${workDir}/fastcgi;
  uwsgi_temp_path ${workDir}/uwsgi;
  scgi_temp_path ${workDir}/scgi;
  ${
    proxied?.replace('PORT', String(port)) ??
    `server {
    listen 127.0.0.1:${port};
    root ${root};
    location = /healthz { return 200 ok; }
    ${imageFilter ? `location /resize/ { alias ${root}/; image_filter resize 256 256; image_filter_buffer 100M; image_filter_jpeg_quality 80; }` : ''}
  }`
  }
}
`;
  const confFile = path.join(workDir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const child: Child = spawnPinned('nginx', 'nginx', ['-p', workDir, '-c', confFile], { cores });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child, 15_000);
  return { url, imageFilter, stop: () => child.stop() };
}
