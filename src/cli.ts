#!/usr/bin/env node
// imgd on the command line: the program, its commands (src/cli/), and how every command ends (exit 0, 1 or 2).
import { Command, CommanderError } from 'commander';
import { requestedLogLevel } from './config.js';
import { logProcessWarnings } from './logging.js';
import { createPrivately } from './ops/private-files.js';
import { registerArchiveCommands } from './cli/archive.js';
import { stderrLogger } from './cli/context.js';
import { registerDoctorCommand } from './cli/doctor.js';
import { exitStatusOf, failureLine, wantsStack } from './cli/failure.js';
import { registerMaintenanceCommands } from './cli/maintenance.js';
import { registerServiceCommands } from './cli/serve.js';
import { registerTokenCommand } from './cli/token.js';
import { registerUserCommands } from './cli/users.js';
import { imgdVersion } from './cli/version.js';

// Node's process warnings as JSON on stderr, at imgd's default level until the configured one is known.
logProcessWarnings(stderrLogger('info'));
// Whatever a command writes (archives, secrets, the database) is the data dir owner's alone.
createPrivately();

const program = new Command('imgd')
  .description('imgd, a self-hosted image service: run it, and look after its data')
  .version(imgdVersion(), '-V, --version', 'print the version of imgd')
  .helpOption('-h, --help', 'show help for a command')
  .helpCommand(false)
  .showSuggestionAfterError()
  // Commander's errors come back here (exit status 2), in one line.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`imgd: ${text.replace(/^error: /, '').trim().replace(/\.$/, '')}; see imgd --help\n`) })
  .addHelpText(
    'after',
    '\nExit status: 0 done, 1 failed (one line on stderr says why), 2 wrongly asked (a usage error or a refused setting).\n' +
      'Settings come from the environment or CONFIG_FILE (see the README). Results go to stdout, logs to stderr.',
  );

/** The command running, as typed (`user delete`), for the line a failure writes. */
let running = '';
program.hook('preAction', (_program, action) => {
  const names: string[] = [];
  for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
  running = names.join(' ');
});

registerServiceCommands(program);
registerMaintenanceCommands(program);
registerDoctorCommand(program);
registerArchiveCommands(program);
registerUserCommands(program);
registerTokenCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has written its own line (usage errors) or the help and version (exit 0).
  if (!(err instanceof CommanderError)) process.stderr.write(failureLine(running, err, { debug: wantsStack(requestedLogLevel()) }));
  // Exit now: a database pool or a Redis connection left open by the failure must not keep the process up.
  process.exit(exitStatusOf(err));
}
