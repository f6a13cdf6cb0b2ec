import { defineConfig } from 'drizzle-kit';

// SQL migrations are generated from worker/db/schema.ts into migrations/ and applied by wrangler.
export default defineConfig({
  dialect: 'sqlite',
  schema: './worker/db/schema.ts',
  out: './migrations',
});
