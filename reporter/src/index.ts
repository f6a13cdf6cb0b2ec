// @agnox/playwright-reporter: use it by name in playwright.config.ts
//   reporter: [['list'], ['@agnox/playwright-reporter', { projectId: '…' }]]
// or import the class: `import AgnoxReporter from '@agnox/playwright-reporter'`.
import { AgnoxReporter } from './reporter';

export { AgnoxReporter };
export type { AgnoxReporterOptions } from './options';
export default AgnoxReporter;
