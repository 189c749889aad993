import { migrationsList } from '.';
import { MIGRATION_NAMES } from './names';

describe('migrations', () => {
  it('the names checked at start-up are those of the migration classes, in order', () => {
    expect(migrationsList.map((migration) => migration.name)).toEqual(MIGRATION_NAMES);
  });
});
