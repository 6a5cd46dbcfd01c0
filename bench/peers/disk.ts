// Peer "bare node (disk)": a bare node:http server answering GET /<path> with the file at ROOT/<path>, read whole
// (readFile) for every request, with three headers. What Node itself does for files that no cache holds.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

const root = path.resolve(process.env.ROOT ?? '.');

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/healthz') {
    res.end('ok');
    return;
  }
  const file = path.join(root, decodeURIComponent(url));
  if (!file.startsWith(`${root}/`)) {
    res.statusCode = 404;
    res.end();
    return;
  }
  readFile(file).then(
    (body) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, etag: `"${path.basename(file)}"` });
      res.end(body);
    },
    () => {
      res.statusCode = 404;
      res.end();
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
