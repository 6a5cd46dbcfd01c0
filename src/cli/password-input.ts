// Passwords for the CLI: from standard input (--password-stdin) or typed at a terminal without echo, never from argv.
import { CommandFailed, UsageError } from './failure.js';

async function firstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Reads one line at the terminal with echo off; Ctrl-C or Ctrl-D cancels. */
function typedLine(question: string): Promise<string> {
  const { stdin, stderr } = process;
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') return finish(new CommandFailed('cancelled'));
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The password: standard input's first line with --password-stdin; else typed twice at a terminal; else a usage error. */
export async function readPassword(options: { passwordStdin?: boolean }, what: string): Promise<string> {
  if (options.passwordStdin) {
    const line = await firstLineOfStdin();
    if (line === '') throw new UsageError('--password-stdin read an empty line: give the password on standard input');
    return line;
  }
  if (!process.stdin.isTTY) throw new UsageError('give the password on standard input with --password-stdin (or run this at a terminal to type it)');
  const first = await typedLine(`${what}: `);
  const again = await typedLine('again: ');
  if (first !== again) throw new CommandFailed('the two passwords differ; nothing changed');
  return first;
}
