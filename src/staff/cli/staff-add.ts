import { parseArgs } from 'node:util';
import { isStaffRole } from '../staff-role';
import { readSecret, runStaffCommand, UsageError } from './cli-context';

/*
 * `npm run staff:add -- <email> --role <viewer|operator|admin>`: creates a staff member. The password
 * comes from STAFF_PASSWORD when set, else it is asked for (twice, not echoed) or read from stdin.
 */
void runStaffCommand(async (auth) => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: 'string' } },
  });
  const [email, ...extra] = positionals;
  if (!email || extra.length > 0 || !isStaffRole(values.role)) {
    throw new UsageError('Usage: npm run staff:add -- <email> --role <viewer|operator|admin>');
  }
  // The one variable read outside the configuration: a secret for this command only.
  const password = process.env.STAFF_PASSWORD || (await readSecret(`Password for ${email}: `));
  const member = await auth.addMember(email, values.role, password);
  console.log(`Added ${member.email} (${member.role})`);
});
