// Worker entry: the HTTP app, the cron handler, and the Durable Object classes wrangler binds.
import { app } from './app';
import { scheduled } from './cron';
import type { Env } from './env';

export { Dispatcher } from '../durable-objects/Dispatcher';
export { ExecutionRoom } from '../durable-objects/ExecutionRoom';
export { OrgHub } from '../durable-objects/OrgHub';
export { ScheduleStarter } from '../durable-objects/ScheduleStarter';

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;
