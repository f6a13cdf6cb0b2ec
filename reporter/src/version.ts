// Replaced at build time by tsup (define); the fallback serves runs from source.
declare const __AGNOX_REPORTER_VERSION__: string | undefined;
export const VERSION: string = typeof __AGNOX_REPORTER_VERSION__ === 'string' ? __AGNOX_REPORTER_VERSION__ : '0.0.0-dev';
