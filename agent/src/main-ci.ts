// `agnox`: the CI command (see ci/ci-run.ts).
import { ciMain } from './ci/ci-run';
export { ciMain as main };
