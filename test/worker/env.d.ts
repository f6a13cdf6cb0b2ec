import type { D1Migration } from 'cloudflare:test';
import type { Env as WorkerEnv } from '../../worker/env';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** Replays a fuzz run (test/worker/fuzz-*.test.ts); empty for a fresh seed. */
      FUZZ_SEED: string;
      /** Multiplies the fuzz tests' case counts (and lifts their time caps) for a longer local run. */
      FUZZ_RUNS: string;
    }
    interface GlobalProps {
      mainModule: typeof import('../../worker/index');
      durableNamespaces: 'ExecutionRoom' | 'Dispatcher' | 'OrgHub';
    }
  }
}
