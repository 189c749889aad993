import { parseArgs } from 'node:util';
import { runStaffCommand, UsageError } from './cli-context';

/*
 * `npm run staff:token -- <email>`: prints a new API token for that staff member, once (only its
 * hash is kept). Scripts send it as `Authorization: Bearer <token>`.
 */
void runStaffCommand(async (auth) => {
  const { positionals } = parseArgs({ allowPositionals: true, options: {} });
  const [email, ...extra] = positionals;
  if (!email || extra.length > 0) throw new UsageError('Usage: npm run staff:token -- <email>');
  console.log(await auth.issueToken(email));
});
