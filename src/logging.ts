// JSON logs with pino; credentials are redacted wherever they could appear.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { AuditEntry } from './core/audit.js';

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.access_token',
];

/** Query parameters that carry credentials, blanked in logged URLs. */
const SECRET_PARAMS = new Set(['token', 'access_token', 'signature', 'sig', 'key_secret']);

function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * Blanks the values of credential parameters. Names are compared decoded, since the query parser decodes them
 * too: `?%74oken=…` is accepted as a token and must not reach the logs (a plain regex on the raw URL missed it).
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const hash = url.indexOf('#', start);
  const end = hash === -1 ? url.length : hash;
  const params = url
    .slice(start + 1, end)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      if (eq === -1) return param;
      // Leading punctuation (`;token=`) and case are ignored: blanking too much costs nothing.
      const name = decodedName(param.slice(0, eq)).trim().toLowerCase().replace(/^[^a-z_]+/, '');
      return SECRET_PARAMS.has(name) ? `${param.slice(0, eq + 1)}[redacted]` : param;
    });
  return `${url.slice(0, start + 1)}${params.join('&')}${url.slice(end)}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
  headers?: Record<string, unknown>;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: {
      req: (req: LoggedRequest) => ({ method: req.method, url: redactUrl(req.url), ip: req.ip }),
      err: pino.stdSerializers.err,
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

let warningLogger: Logger | undefined;

/**
 * The AWS SDK's notice that its releases from 2027 need Node 22: said at every start on Node 20, to operators who
 * can do nothing about it there; `imgd doctor` says what matters (Node 20 is past its end of life; move to 24).
 */
const isAwsNodeVersionNotice = (warning: Error): boolean => warning.message.startsWith('NodeVersionSupportWarning: The AWS SDK');

/**
 * Node's process warnings (a deprecation, say) go to `logger` as JSON lines
 * instead of Node's own printer, which writes plain text to stderr: every line imgd writes is one JSON object
 * (COMPAT.md §2.8). Process-wide; a later call only switches the logger (once the configured level is known).
 */
export function logProcessWarnings(logger: Logger): void {
  if (!warningLogger) {
    process.removeAllListeners('warning');
    process.on('warning', (warning) => {
      if (isAwsNodeVersionNotice(warning)) return;
      const { name, code } = warning as Error & { code?: string };
      warningLogger?.warn({ warning: { name, ...(code ? { code } : {}) } }, warning.message);
    });
  }
  warningLogger = logger;
}

/**
 * A fault nothing caught (a bug) ends the process with exit status 1, as Node would, but as one JSON line on
 * `logger` instead of Node's bare stack trace (COMPAT.md §2.8). For the long-running commands (serve, worker).
 */
export function logUncaughtFaults(logger: Logger): void {
  const fatal = (what: string) => (err: unknown) => {
    logger.fatal({ err }, `${what}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
}

/** An audit entry as one log line: `audit` holds who, what, which, from where and the details, flat; the message is the action. */
export function auditLines(logger: Logger): (entry: AuditEntry) => void {
  return ({ details, ...entry }) => logger.info({ audit: { ...entry, ...details } }, entry.action);
}
