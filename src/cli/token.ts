// `imgd token`: prints a credential for scripts and other services: an HMAC upload token, a minted upload token, an API key.
import type { Command } from 'commander';
import { mintHmacToken } from '../auth/hmac-upload-tokens.js';
import { roleScopes } from '../core/accounts/accounts.js';
import { ADMIN, type Actor, type Scope } from '../core/access/actor.js';
import { settings, wholeNumber } from './context.js';
import { withDeployment } from './deployment.js';
import { CommandFailed, UsageError } from './failure.js';

interface TokenOptions {
  minted?: boolean;
  apiKey?: boolean;
  user?: string;
  name: string;
  scopes: string;
  key?: string;
  maxBytes?: string;
  expiresIn?: string;
  singleUse?: boolean;
}

async function token(options: TokenOptions): Promise<void> {
  const config = settings();
  if (options.minted && options.apiKey) throw new UsageError('--minted and --api-key: choose one');
  if (!options.minted && !options.apiKey) {
    const secret = config.auth.uploadTokenSecret;
    if (!secret) throw new UsageError('set UPLOAD_TOKEN_SECRET (or MEDIA_SERVER_SECRET) for timestamp tokens, or use --minted or --api-key');
    process.stdout.write(`${mintHmacToken(secret)}\n`);
    return;
  }
  if (options.apiKey && !options.user) throw new UsageError('--api-key needs --user <username>');
  const maxBytes = wholeNumber(options.maxBytes, '--max-bytes', 1);
  const expiresIn = wholeNumber(options.expiresIn, '--expires-in', 1);
  await withDeployment(config, { needs: ['core'] }, async ({ core }) => {
    if (options.apiKey) {
      const user = await core.accounts.userByName(options.user!);
      if (!user) throw new CommandFailed(`no user ${options.user!}`);
      const actor: Actor = { kind: 'user', user, scopes: roleScopes(user.role), apiKeyId: null };
      const scopes = options.scopes.split(',').map((s) => s.trim()) as Scope[];
      const { secret } = await core.accounts.createApiKey(actor, options.name, scopes, null);
      process.stdout.write(`${secret}\n`);
      return;
    }
    const { secret } = await core.accounts.mintUploadToken(
      ADMIN,
      { key: options.key ?? null, maxBytes: maxBytes ?? null, expiresIn: expiresIn ?? config.auth.uploadTokenExpirySeconds, singleUse: Boolean(options.singleUse) },
      null,
    );
    process.stdout.write(`${secret}\n`);
  });
}

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .summary('print an upload token or an API key')
    .description(
      'print a credential: by default an upload token of the timestamp-and-signature kind (TIMESTAMP.SIGNATURE, as the ' +
        'media_server service issued; needs UPLOAD_TOKEN_SECRET), or with --minted an upload token with limits, or with --api-key an API key',
    )
    .option('--minted', 'an upload token this server issues (see --key, --max-bytes, --expires-in, --single-use)')
    .option('--key <key>', 'minted token: only uploads into this key')
    .option('--max-bytes <n>', 'minted token: largest file it may upload')
    .option('--expires-in <seconds>', 'minted token: lifetime (default TOKEN_EXPIRY_SECONDS)')
    .option('--single-use', 'minted token: one upload request only')
    .option('--api-key', 'an API key for --user')
    .option('--user <username>', 'API key: the user it belongs to')
    .option('--name <name>', 'API key: its name', 'cli')
    .option('--scopes <list>', 'API key: comma-separated scopes (read, upload, delete, admin)', 'read,upload')
    .action(token);
}
