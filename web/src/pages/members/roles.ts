// The roles a member can hold, in the order the role pickers list them.
import type { Role } from '../../lib/types';

export const ROLES: Role[] = ['admin', 'developer', 'viewer'];
