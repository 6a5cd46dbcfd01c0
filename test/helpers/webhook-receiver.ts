// A real HTTP receiver on loopback for webhook tests: records every request; answers as the test says, or holds the answer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The status to answer the nth request (0-based) with (and headers), or 'hang' to hold it until release(). */
export type Answer = (n: number) => number | readonly [number, Record<string, string>] | 'hang';

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: Received[];
  /** Requests held open by a 'hang' answer, not yet answered. */
  readonly hanging: number;
  answer: Answer;
  /** Answers every held request with 200. */
  release(): void;
  close(): Promise<void>;
}

export async function startReceiver(answer: Answer = () => 204, port = 0): Promise<Receiver> {
  const requests: Received[] = [];
  const held = new Set<http.ServerResponse>();
  const receiver = { answer };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const n = requests.length;
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      requests.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = receiver.answer(n);
      if (status === 'hang') {
        held.add(response);
        response.once('close', () => held.delete(response));
        return;
      }
      const [code, answerHeaders] = typeof status === 'number' ? [status, {}] : status;
      response.writeHead(code, answerHeaders).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    port: bound,
    requests,
    get hanging() {
      return [...held].filter((r) => !r.writableEnded && !r.destroyed).length;
    },
    get answer() {
      return receiver.answer;
    },
    set answer(value: Answer) {
      receiver.answer = value;
    },
    release() {
      for (const response of held) response.writeHead(200).end();
      held.clear();
    },
    async close() {
      for (const response of held) response.destroy();
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
