/** `usersig`: print an admin UserSig for manual calls (curl); the key comes from the environment only. */
import type { Command } from 'commander';
import { DEFAULT_USERSIG_TTL_SECONDS, generateUserSig } from '../tencent/index.js';
import { CliError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { integerParser } from './options.js';

interface UserSigOptions {
  sdkappid: number;
  identifier: string;
  ttl: number;
  secretKeyEnv: string;
}

export function registerUserSigCommand(program: Command, ctx: CliContext): void {
  program
    .command('usersig')
    .description('print a UserSig for an app admin to stdout (a credential: handle it like a password)')
    .requiredOption('--sdkappid <id>', 'the SDKAppID', integerParser(1, 4_294_967_295))
    .requiredOption('--identifier <admin>', 'the admin UserID the UserSig is made for')
    .option(
      '--ttl <seconds>',
      'lifetime in seconds',
      integerParser(60, 10 * 365 * 86_400),
      DEFAULT_USERSIG_TTL_SECONDS,
    )
    .option('--secret-key-env <name>', 'environment variable holding the secret key', 'TENCENT_IM_SECRET_KEY')
    .action((options: UserSigOptions) => {
      const secretKey = ctx.io.env[options.secretKeyEnv]?.trim();
      if (!secretKey) {
        throw new CliError(
          `the secret key is missing: set the environment variable ${options.secretKeyEnv} ` +
            '(it is never accepted as an argument, which would leave it in the shell history)',
          EXIT_CODES.config,
        );
      }
      if (options.identifier.trim() === '')
        throw new CliError('--identifier must not be empty', EXIT_CODES.usage);
      const userSig = generateUserSig({
        sdkAppId: options.sdkappid,
        identifier: options.identifier,
        secretKey,
        expireSec: options.ttl,
      });
      const expires = new Date(Date.now() + options.ttl * 1_000).toISOString();
      ctx.io.stderr(
        `WARNING: this UserSig is a credential: whoever holds it can call the REST API as "${options.identifier}" ` +
          `of app ${options.sdkappid} until ${expires}. Do not paste it into logs, tickets or chats.\n`,
      );
      ctx.io.stdout(`${userSig}\n`);
      ctx.exitCode = EXIT_CODES.ok;
    });
}
