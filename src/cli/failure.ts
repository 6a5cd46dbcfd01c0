// How a command ends when it cannot do its job: one clear line on stderr and an exit status (2 usage, 1 failure).
import { CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { isImgdError } from '../core/errors.js';
import { ArchiveError } from '../ops/archive-format.js';
import { IntegrityError } from '../ops/migrate-storage.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command was asked wrongly (a missing argument, a bad option value, a folder where a file was meant): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure already worded for the operator (no stack adds anything): exit 1, or `exitCode`; `whole`: the line as it is, no `imgd <command>:` before it. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
    readonly whole = false,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/** Words for the errors an operator meets (a setting, a file, a server down); undefined for anything else (a bug). */
function explain(err: unknown, ports: { main?: number | undefined }): string | undefined {
  if (err instanceof UsageError || err instanceof CommandFailed || err instanceof ConfigError) return err.message;
  if (isImgdError(err) || err instanceof ArchiveError || err instanceof IntegrityError) return err.message;
  if (!(err instanceof Error)) return undefined;
  const sys = err as SystemError;
  switch (sys.code) {
    case 'EADDRINUSE':
      return sys.port === ports.main || ports.main === undefined
        ? `port ${sys.port ?? ''} is in use; set PORT`
        : `port ${sys.port ?? ''} (a COMPAT profile's) is in use; choose another in COMPAT`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${sys.address ?? 'that address'}: no such address on this machine; set HOST`;
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${sys.address ?? sys.hostname ?? 'a server'}${sys.port ? `:${sys.port}` : ''} (${sys.code}): is it running, and is its URL right?`;
  }
  if (sys.code && REASONS[sys.code]) return sys.path ? `${sys.path}: ${REASONS[sys.code]}` : `${err.message}`;
  // pg names an unreachable database in an AggregateError (one error per address tried).
  if (err instanceof AggregateError && err.errors.length > 0) return explain(err.errors[0], ports);
  if (/^(connect|getaddrinfo|Connection terminated)/.test(err.message)) return err.message;
  return undefined;
}

/** What went wrong, in words: explained when imgd knows the error, else its message. */
export function describeFailure(err: unknown, mainPort?: number): string {
  return explain(err, { main: mainPort }) ?? (err instanceof Error ? err.message : String(err));
}

/** The exit status for an error: 2 for how the command was asked (usage, settings), 1 for everything else. */
export function exitStatusOf(err: unknown): number {
  if (err instanceof CommandFailed) return err.exitCode;
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT_USAGE;
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
  return EXIT_FAILURE;
}

/**
 * The one line a failed command writes: `imgd <command>: <what went wrong>`. What imgd cannot word (a bug) gets its
 * message too; its stack only with LOG_LEVEL=debug (or trace), never by default.
 */
export function failureLine(command: string, err: unknown, options: { debug: boolean; mainPort?: number | undefined }): string {
  const message = describeFailure(err, options.mainPort);
  const prefix = err instanceof CommandFailed && err.whole ? '' : command ? `imgd ${command}: ` : 'imgd: ';
  const line = `${prefix}${message.replace(/\s*\n\s*/g, ' ')}\n`;
  const cause = err instanceof CommandFailed && err.cause instanceof Error ? err.cause : err;
  if (options.debug && cause instanceof Error && cause.stack) return `${line}${cause.stack}\n`;
  return line;
}

/** LOG_LEVEL=debug or trace asks for stacks. */
export const wantsStack = (level: string | undefined): boolean => level === 'debug' || level === 'trace';
