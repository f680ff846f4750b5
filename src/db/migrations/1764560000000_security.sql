-- Up Migration

-- Every process polls for families revoked since its last look (services/revocations.ts).
CREATE INDEX refresh_token_families_revoked_idx ON refresh_token_families (revoked_at) WHERE revoked_at IS NOT NULL;

-- Roles in group conversations: the creator is the owner; owners and admins change membership.
ALTER TABLE conversation_members
  ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member'));
UPDATE conversation_members cm SET role = 'owner'
  FROM conversations c
 WHERE c.id = cm.conversation_id AND c.kind = 'group' AND c.created_by = cm.user_id;
-- A group whose creator has left: its longest-standing member owns it, as when an owner leaves.
UPDATE conversation_members cm SET role = 'owner'
  FROM (SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.user_id
          FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.kind = 'group'
           AND NOT EXISTS (SELECT 1 FROM conversation_members o WHERE o.conversation_id = m.conversation_id AND o.role = 'owner')
         ORDER BY m.conversation_id, m.joined_at, m.user_id) heir
 WHERE cm.conversation_id = heir.conversation_id AND cm.user_id = heir.user_id;

-- Down Migration

ALTER TABLE conversation_members DROP COLUMN role;
DROP INDEX refresh_token_families_revoked_idx;
