// Bytes on a fresh TCP connection and the answer read to the connection's end: for requests no HTTP client will send.
import net from 'node:net';

export interface RawExchange {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Sends bytes to the server at url (then, with `trickle`, a byte every 200 ms) and reads its answer until it closes. */
export function rawExchange(url: string, bytes: string, trickle = false): Promise<RawExchange> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
    const timer = trickle ? setInterval(() => socket.writable && socket.write('x'), 200) : undefined;
    let out = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (out += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      const at = out.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = (at === -1 ? out : out.slice(0, at)).split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      if (!status) return reject(new Error(`no answer: ${JSON.stringify(out)}`));
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status, headers, body: at === -1 ? '' : out.slice(at + 4) });
    });
  });
}
