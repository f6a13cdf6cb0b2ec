// Members and their roles, and invitations. Admins change roles, remove members and invite.
import { can } from '../../lib/permissions';
import { useUser } from '../../lib/session';
import type { Invitation, User } from '../../lib/types';
import { useApi } from '../../lib/use-api';
import { InvitationsCard } from '../members/InvitationsCard';
import { MembersCard } from '../members/MembersCard';

export function MembersTab() {
  const { role } = useUser();
  const admin = can(role, 'manageMembers');
  const members = useApi<User[]>('/api/users');
  // Only admins may list invitations; nobody else asks.
  const invitations = useApi<Invitation[]>(admin ? '/api/invitations' : null);

  return (
    <div class='space-y-4'>
      <MembersCard members={members} admin={admin} />
      {admin && <InvitationsCard invitations={invitations} />}
    </div>
  );
}
