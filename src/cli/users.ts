// `imgd user add | list | delete | passwd | role`: accounts from the command line (acting as the server's operator).
import { Argument, type Command } from 'commander';
import { randomBytes } from 'node:crypto';
import type { Core } from '../app.js';
import { ADMIN } from '../core/access/actor.js';
import { ROLES, type Role, type User } from '../core/accounts/user.js';
import { readPassword } from './password-input.js';
import { printJson, settings } from './context.js';
import { withDeployment } from './deployment.js';
import { CommandFailed } from './failure.js';

const userJson = (u: User) => ({ id: u.id, username: u.username, email: u.email, role: u.role, created_at: u.createdAt });

async function existing(core: Core, username: string): Promise<User> {
  const user = await core.accounts.userByName(username);
  if (!user) throw new CommandFailed(`no user ${username}`);
  return user;
}

async function add(username: string, options: { email?: string; admin?: boolean; passwordStdin?: boolean; json?: boolean }): Promise<void> {
  const config = settings();
  const given = options.passwordStdin ? await readPassword(options, 'password for the new user') : undefined;
  const password = given ?? randomBytes(18).toString('base64url');
  await withDeployment(config, { needs: ['core'] }, async ({ core }) => {
    const user = await core.accounts.addUser({ username, email: options.email ?? `${username}@localhost.invalid`, password }, options.admin ? 'admin' : 'user');
    if (options.json) return printJson({ ...userJson(user), ...(given ? {} : { password }) });
    process.stdout.write(`created ${user.role} ${user.username} (id ${user.id})\n`);
    if (!given) process.stdout.write(`password (shown this once): ${password}\n`);
  });
}

async function list(options: { json?: boolean }): Promise<void> {
  await withDeployment(settings(), { needs: ['core'] }, async ({ core }) => {
    const users = await core.accounts.listUsers(ADMIN);
    if (options.json) return printJson(users.map(userJson));
    for (const u of users) process.stdout.write(`${u.id}  ${u.role.padEnd(5)}  ${u.username}  ${u.email}\n`);
  });
}

async function remove(username: string, options: { json?: boolean }): Promise<void> {
  await withDeployment(settings(), { needs: ['core'] }, async ({ core }) => {
    const { user, images } = await core.accounts.deleteUser('cli', (await existing(core, username)).id, null);
    if (options.json) return printJson({ deleted: userJson(user), images_kept: images });
    process.stdout.write(`deleted ${user.username} (id ${user.id}): API keys deleted, sessions and upload tokens ended; ${images} image(s) kept, now without an owner\n`);
  });
}

async function passwd(username: string, options: { passwordStdin?: boolean }): Promise<void> {
  const config = settings();
  const password = await readPassword(options, `new password for ${username}`);
  await withDeployment(config, { needs: ['core'] }, async ({ core }) => {
    const user = await core.accounts.setUserPassword('cli', (await existing(core, username)).id, password, null);
    process.stdout.write(`password of ${user.username} set; their sessions and upload tokens ended (API keys stay)\n`);
  });
}

async function role(username: string, wanted: Role): Promise<void> {
  await withDeployment(settings(), { needs: ['core'] }, async ({ core }) => {
    const user = await core.accounts.setUserRole('cli', (await existing(core, username)).id, wanted, null);
    process.stdout.write(`${user.username} is now ${user.role === 'admin' ? 'an admin' : 'a user'}\n`);
  });
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage user accounts').helpCommand(false);
  user
    .command('add <username>')
    .description('create a user; with --password-stdin the password is read from standard input, else one is generated and printed once')
    .option('--email <email>', 'e-mail address (default <username>@localhost.invalid)')
    .option('--admin', 'make the user an admin')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--json', 'print the new user as JSON (with the password when it was generated)')
    .action(add);
  user.command('list').description('list users').option('--json', 'print a JSON array').action(list);
  user
    .command('delete <username>')
    .description("delete a user: their API keys go, their sessions and upload tokens end; their images stay, without an owner (admins see them; public links keep working). The last admin cannot be deleted")
    .option('--json', 'print what was done as JSON')
    .action(remove);
  user
    .command('passwd <username>')
    .description("set a user's password (asked at a terminal, or --password-stdin); their sessions end, their API keys stay")
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(passwd);
  user
    .command('role')
    .description("make a user an admin, or an admin a user (the last admin stays one)")
    .addArgument(new Argument('<username>'))
    .addArgument(new Argument('<role>').choices(ROLES))
    .action(role);
}
