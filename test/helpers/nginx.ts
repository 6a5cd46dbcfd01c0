// nginx in front of a test's imgd, unprivileged on a free port, with deploy/nginx snippets included (when installed).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { freePort } from './processes.js';
import { waitFor } from './wait.js';

export const NGINX = '/usr/sbin/nginx';

/** Whether nginx is here to test with; under CI=true its absence fails the run (add it to .ci/run's apt-get line). */
export function nginxMissing(): string | false {
  if (existsSync(NGINX)) return false;
  if (process.env.CI === 'true') throw new Error(`${NGINX} is missing: the nginx tests need it (CI=true)`);
  return `skipped: ${NGINX} is not installed`;
}

export interface Nginx {
  readonly url: string;
  stop(): Promise<void>;
}

/** A shipped snippet of deploy/nginx with one of its lines (a path) replaced for the test, checked to be there. */
export async function shippedSnippet(name: string, line: string, replacement: string): Promise<string> {
  return shippedWith(name, { [line]: replacement });
}

/** A shipped snippet of deploy/nginx with every occurrence of each text (paths) replaced for the test, each checked to be there. */
export async function shippedWith(name: string, replacements: Readonly<Record<string, string>>): Promise<string> {
  let text = await readFile(path.resolve(import.meta.dirname, '../../deploy/nginx', name), 'utf8');
  for (const [from, to] of Object.entries(replacements)) {
    assert.ok(text.includes(from), `deploy/nginx/${name} no longer has ${from}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/**
 * nginx proxying to imgd at `upstreamUrl` (upstream `imgd`, as deploy/nginx/imgd.conf names it), with these snippets in
 * its server block, and `httpSnippets` in its http block (as imgd.conf's own lines are).
 */
export async function startNginx(upstreamUrl: string, workDir: string, snippets: readonly string[], httpSnippets: readonly string[] = []): Promise<Nginx> {
  await mkdir(workDir, { recursive: true });
  const include = async (name: string, snippet: string): Promise<string> => {
    const file = path.join(workDir, name);
    await writeFile(file, snippet);
    return `include ${file};`;
  };
  const includes: string[] = [];
  for (const [i, snippet] of snippets.entries()) includes.push(await include(`snippet-${i}.conf`, snippet));
  const httpIncludes: string[] = [];
  for (const [i, snippet] of httpSnippets.entries()) httpIncludes.push(await include(`http-snippet-${i}.conf`, snippet));
  const port = await freePort();
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${workDir}/nginx.pid;
error_log ${workDir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${workDir}/body;
  proxy_temp_path ${workDir}/proxy;
  fastcgi_temp_path ${workDir}/fastcgi;
  uwsgi_temp_path ${workDir}/uwsgi;
  scgi_temp_path ${workDir}/scgi;
  upstream imgd { server ${new URL(upstreamUrl).host}; }
  ${httpIncludes.join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location / { proxy_pass http://imgd; }
    ${includes.join('\n    ')}
  }
}`;
  await writeFile(path.join(workDir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', workDir, '-c', path.join(workDir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGQUIT');
    await once(child, 'exit');
  };
  try {
    // Any answer means nginx listens (imgd's /healthz through it).
    await waitFor('nginx to answer', async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined;
    }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
