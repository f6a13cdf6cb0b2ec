// Kept in step with agent/package.json "version" (a test checks it).
export const AGENT_VERSION = '0.1.0';
