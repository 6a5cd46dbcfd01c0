// `imgd serve` and `imgd worker`: the long-running commands, whose output is their log (JSON lines, or a banner at a terminal).
import type { Command } from 'commander';
import { createApp, type App } from '../app.js';
import { ConfigError, type Config } from '../config.js';
import { serveWorkerMetrics } from '../http/worker-metrics.js';
import { createLogger, logUncaughtFaults } from '../logging.js';
import { settings, stderrLogger } from './context.js';
import { openDeployment } from './deployment.js';
import { exitStatusOf, failureLine, wantsStack } from './failure.js';

/**
 * A start that failed (a refused setting, the port in use, the database down, an unreadable secret): one line, plain at
 * a terminal, else one fatal JSON log line like every other line a service writes (COMPAT.md §2.8); then the exit.
 */
export function refuseStart(command: string, err: unknown, config?: Config): never {
  const line = failureLine(process.stderr.isTTY ? command : '', err, { debug: wantsStack(config?.logLevel), mainPort: config?.port });
  if (process.stderr.isTTY) process.stderr.write(line);
  else {
    const [message, ...stack] = line.replace(/^imgd: /, '').trimEnd().split('\n');
    stderrLogger('info').fatal({ error: err instanceof ConfigError ? 'configuration' : 'start', ...(stack.length ? { stack: stack.join('\n') } : {}) }, message);
  }
  process.exit(exitStatusOf(err));
}

/** The settings of a service, or its start refused. */
function serviceSettings(command: string): Config {
  try {
    return settings();
  } catch (err) {
    refuseStart(command, err);
  }
}

function banner(app: App, url: string): string {
  const { adminToken, config } = app;
  const lines = [
    `imgd is listening on ${url}`,
    `  API        ${url}/api/v1   (docs: ${url}/docs)`,
    `  data       ${config.dataDir} (${config.database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, blobs in ${config.storage.kind === 'fs' ? config.storage.dir : `s3://${config.storage.bucket}`})`,
  ];
  // Where each seed's clients now point (COMPAT).
  for (const { name } of config.compat.profiles) lines.push(`  compat     ${name.padEnd(13)}${app.profileUrl(name) ?? url}`);
  if (adminToken.source === 'generated') {
    lines.push(
      `  admin token (shown this once; saved to ${adminToken.file} with mode 600):`,
      `    ${adminToken.token}`,
    );
  } else if (adminToken.source === 'file') {
    lines.push(`  admin token in ${adminToken.file}`);
  } else {
    lines.push('  admin token from AUTH_TOKEN');
  }
  const token = adminToken.source === 'env' ? '$AUTH_TOKEN' : `$(cat ${adminToken.file})`;
  lines.push(`  upload     curl -H "Authorization: Bearer ${token}" -F file=@photo.jpg ${url}/api/v1/images`);
  return `${lines.join('\n')}\n`;
}

/** The banner's facts as fields of one log line; the admin token itself never goes into a log. */
function startFacts(app: App, url: string): Record<string, unknown> {
  const { adminToken, config } = app;
  const compat = Object.fromEntries(config.compat.profiles.map(({ name }) => [name, app.profileUrl(name) ?? url]));
  const token =
    adminToken.source === 'generated'
      ? `generated and saved to ${adminToken.file} (mode 600); it is not logged: read it there`
      : adminToken.source === 'file'
        ? `in ${adminToken.file}`
        : 'from AUTH_TOKEN';
  return {
    url,
    api: `${url}/api/v1`,
    docs: `${url}/docs`,
    database: config.database.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    data_dir: config.dataDir,
    blobs: config.storage.kind === 'fs' ? config.storage.dir : `s3://${config.storage.bucket}`,
    ...(config.compat.profiles.length > 0 ? { compat } : {}),
    admin_token: token,
  };
}

/**
 * Where imgd listens and how to sign in: a banner for a person at a terminal; one JSON log line when stdout goes to a
 * log (a service manager, a container, a pipe), where every line is JSON (COMPAT.md §2.8) and secrets are never written.
 */
function announce(app: App, url: string): void {
  if (process.stdout.isTTY) process.stdout.write(banner(app, url));
  // Written whatever LOG_LEVEL says: it is the one line that tells where the service is.
  else app.logger.child({}, { level: app.logger.level === 'silent' ? 'silent' : 'info' }).info(startFacts(app, url), `imgd is listening on ${url}`);
}

async function serve(): Promise<void> {
  const config = serviceSettings('serve');
  logUncaughtFaults(stderrLogger(config.logLevel));
  let app: App;
  let url: string;
  try {
    app = await createApp(config);
    url = await app.listen();
  } catch (err) {
    refuseStart('serve', err, config);
  }
  announce(app, url);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      app.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function startWorker(config: Config) {
  // Its log is a service's (stdout, LOG_LEVEL), not a one-shot command's.
  const { core } = await openDeployment(config, { needs: ['core'], worker: true, logger: createLogger(config.logLevel) });
  await core.queue.start();
  const metrics = config.jobs.workerMetricsPort === undefined ? undefined : await serveWorkerMetrics(core.metrics.registry, config.host, config.jobs.workerMetricsPort);
  return { core, metrics };
}

async function worker(): Promise<void> {
  const config = serviceSettings('worker');
  logUncaughtFaults(stderrLogger(config.logLevel));
  const { core, metrics } = await startWorker(config).catch((err: unknown) => refuseStart('worker', err, config));
  const metricsUrl = metrics && `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${metrics.port}/metrics`;
  const running = `imgd worker is running jobs (${config.jobs.redisUrl ? 'BullMQ on Redis' : 'database queue'})`;
  if (process.stdout.isTTY) process.stdout.write(`${running}\n${metricsUrl ? `  metrics    ${metricsUrl}\n` : ''}`);
  else core.logger.child({}, { level: core.logger.level === 'silent' ? 'silent' : 'info' }).info({ queue: config.jobs.redisUrl ? 'redis' : 'database', ...(metricsUrl ? { metrics: metricsUrl } : {}) }, running);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    core.logger.info({ signal }, 'worker shutting down: finishing running jobs');
    const force = setTimeout(() => process.exit(1), config.http.shutdownTimeoutMs);
    force.unref();
    Promise.all([metrics?.close(), core.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        core.logger.error({ err }, 'worker shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function registerServiceCommands(program: Command): void {
  program.command('serve').description('run the web server, the API and (unless RUN_WORKERS=false) background jobs').action(serve);
  program.command('worker').description('run background jobs only, no web server (beside `imgd serve` instances sharing Redis)').action(worker);
}
