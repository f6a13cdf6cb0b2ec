// What each role may do, mirroring the Worker's requireRole checks, so the UI never offers an action
// the server would refuse.
import type { Role } from './types';

const RANK: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

const NEEDS = {
  runTests: 'developer',
  cancelRuns: 'developer',
  deleteRuns: 'developer',
  editProjects: 'developer',
  manageAgents: 'admin',
  manageOrganization: 'admin',
  manageMembers: 'admin',
  manageApiKeys: 'admin',
} as const satisfies Record<string, Role>;

export type Action = keyof typeof NEEDS;

export const can = (role: Role | undefined, action: Action) => role !== undefined && RANK[role] >= RANK[NEEDS[action]];
