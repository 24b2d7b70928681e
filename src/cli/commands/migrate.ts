import type { Command } from 'commander';
import type { Run } from '../context.js';

export function registerMigrate(program: Command, run: Run): void {
  program.command('migrate').description('apply the database migrations not applied yet (the server also applies them at start)')
    .action(run(async (ctx) => {
      // Opening the store applies what is pending; what it applied is reported.
      const { migration } = (await ctx.deps()).store;
      if (ctx.json) ctx.printJson({ applied: migration.applied, version: migration.current });
      else ctx.print(migration.applied.length > 0 ? `applied ${migration.applied.join(', ')}` : `up to date (version ${migration.current})`);
    }));
}
