// Direct and group conversations and their membership. Non-members always get not_found: they learn nothing.
// Roles in groups: the creator is the owner; owners and admins add members and remove members; only the owner
// grants or takes admin, removes an admin, or hands ownership on; anyone may leave; when the owner leaves, the
// longest-standing admin (else member) becomes owner. Direct conversations have two members and never change.
import type { Conversation, ConversationList, MemberRole } from '../contract/conversations.js';
import type { Database, Queryable } from '../db/database.js';
import * as conversations from '../db/conversations.repository.js';
import { countExistingUsers, findUserById } from '../db/users.repository.js';
import { AppError, conflict, notFound, validationFailed } from '../core/errors.js';
import type { Broadcaster } from './broadcaster.js';
import type { ReadYourWrites } from './read-your-writes.js';

export class ConversationsService {
  constructor(
    private readonly db: Database,
    private readonly broadcaster: Broadcaster,
    private readonly fences?: ReadYourWrites,
  ) {}

  /** Returns the existing direct conversation between the two users rather than creating a second one. */
  async openDirect(userId: string, otherUserId: string): Promise<{ conversation: Conversation; created: boolean }> {
    if (otherUserId === userId)
      throw validationFailed('A direct conversation needs another user', {
        fields: { userId: 'must not be yourself' },
      });
    if (!(await findUserById(this.db.primary, otherUserId))) throw notFound('User');
    const key = conversations.directKey(userId, otherUserId);
    const createdId = await this.db.withTransaction(async (tx) => {
      const id = await conversations.insertConversation(tx, {
        kind: 'direct',
        title: null,
        directKey: key,
        createdBy: userId,
      });
      if (id) await conversations.addMembers(tx, id, [userId, otherUserId]);
      return id;
    });
    const id = createdId ?? (await conversations.findDirectConversationId(this.db.primary, key));
    const conversation = await this.get(userId, id!);
    if (createdId) this.broadcaster.membersAdded(conversation, [userId, otherUserId]);
    await this.fences?.wrote(userId);
    return { conversation, created: Boolean(createdId) };
  }

  async createGroup(userId: string, title: string, memberIds: string[]): Promise<Conversation> {
    const members = [...new Set([userId, ...memberIds])];
    const existing = await countExistingUsers(this.db.primary, members);
    if (existing !== members.length) {
      throw validationFailed('Some members do not exist', {
        fields: { memberIds: 'every id must be an existing user' },
      });
    }
    const id = await this.db.withTransaction(async (tx) => {
      const created = await conversations.insertConversation(tx, {
        kind: 'group',
        title,
        directKey: null,
        createdBy: userId,
      });
      await conversations.addMembers(tx, created!, members);
      await conversations.setRole(tx, created!, userId, 'owner');
      return created!;
    });
    const conversation = await this.get(userId, id);
    this.broadcaster.membersAdded(conversation, members);
    await this.fences?.wrote(userId);
    return conversation;
  }

  /** Read from the primary: a client fetching what it just created or joined must see it. */
  /** Every conversation the user is in (whom to tell about their presence). */
  idsOf(userId: string): Promise<string[]> {
    return conversations.listConversationIdsOf(this.db.primary, userId);
  }

  /** The user's most recently active conversations, at most `limit` (the rooms a new socket joins). */
  recentIdsOf(userId: string, limit: number): Promise<string[]> {
    return conversations.listRecentConversationIdsOf(this.db.primary, userId, limit);
  }

  async get(userId: string, conversationId: string): Promise<Conversation> {
    const conversation = await conversations.findConversationForMember(this.db.primary, conversationId, userId);
    if (!conversation) throw notFound('Conversation');
    return conversation;
  }

  /**
   * One page of the user's conversations, most recent activity first; `next` continues below the last one shown
   * (absent on the last page). A listing tolerates replica lag, except behind the user's own last write
   * (read-your-writes.ts).
   */
  async list(userId: string, page: { limit: number; before?: string }): Promise<ConversationList> {
    const before = page.before === undefined ? undefined : readListCursor(page.before);
    const fence = await this.fences?.fenceOf(userId);
    const found = await this.db.read(fence?.lsn, (db) =>
      conversations.listConversationsOf(db, userId, { limit: page.limit, before }),
    );
    return found.nextBefore === undefined
      ? { conversations: found.conversations }
      : { conversations: found.conversations, next: listCursor(found.nextBefore) };
  }

  async addMember(actorId: string, conversationId: string, userId: string): Promise<Conversation> {
    const added = await this.db.withTransaction(async (tx) => {
      requireManager(await this.lockGroup(tx, actorId, conversationId), 'add members');
      if (!(await findUserById(tx, userId))) throw notFound('User');
      return conversations.addMembers(tx, conversationId, [userId]);
    });
    if (added.length === 0) throw conflict('That user is already a member');
    const conversation = await this.get(actorId, conversationId);
    this.broadcaster.membersAdded(conversation, added);
    await this.fences?.wrote(actorId);
    return conversation;
  }

  /** Removes a member, or lets the actor leave (`userId` = actor); an owner who leaves hands the group on. */
  async removeMember(actorId: string, conversationId: string, userId: string): Promise<void> {
    await this.db.withTransaction(async (tx) => {
      const actorRole = await this.lockGroup(tx, actorId, conversationId);
      const targetRole = userId === actorId ? actorRole : await conversations.findRole(tx, conversationId, userId);
      if (!targetRole) throw notFound('Member');
      if (userId !== actorId) {
        requireManager(actorRole, 'remove members');
        if (targetRole !== 'member' && actorRole !== 'owner')
          throw forbidden('Only the owner removes an admin or the owner');
      }
      await conversations.removeMember(tx, conversationId, userId);
      if (targetRole === 'owner') await conversations.promoteHeir(tx, conversationId);
    });
    // The remaining members' view, read from the primary after the commit (the actor may have just left).
    const remaining = await conversations.findConversationById(this.db.primary, conversationId);
    this.broadcaster.memberRemoved(
      conversationId,
      userId,
      remaining && remaining.members.length > 0 ? remaining : undefined,
    );
    await this.fences?.wrote(actorId);
  }

  /** PATCH .../members/:userId {role}: the owner grants or takes admin, or hands ownership to another member. */
  async setRole(actorId: string, conversationId: string, userId: string, role: MemberRole): Promise<Conversation> {
    await this.db.withTransaction(async (tx) => {
      const actorRole = await this.lockGroup(tx, actorId, conversationId);
      const targetRole = await conversations.findRole(tx, conversationId, userId);
      if (!targetRole) throw notFound('Member');
      if (actorRole !== 'owner') throw forbidden('Only the owner changes roles');
      if (userId === actorId) throw forbidden('The owner hands ownership to another member instead');
      await conversations.setRole(tx, conversationId, userId, role);
      // One owner at a time: handing ownership on makes the old owner an admin.
      if (role === 'owner') await conversations.setRole(tx, conversationId, actorId, 'admin');
    });
    const conversation = await this.get(actorId, conversationId);
    this.broadcaster.conversationChanged(conversation);
    return conversation;
  }

  /** Locks the group's membership for this transaction and returns the actor's role (404 for non-members). */
  private async lockGroup(tx: Queryable, actorId: string, conversationId: string): Promise<MemberRole> {
    const membership = await conversations.lockMembership(tx, conversationId, actorId);
    if (!membership) throw notFound('Conversation');
    if (membership.kind !== 'group') throw forbidden('Members can only be changed in group conversations');
    return membership.role;
  }
}

const forbidden = (message: string) => new AppError('forbidden', message);

// The list cursor is the activity position below which the next page starts, opaque to clients.
const listCursor = (activitySeq: string): string => Buffer.from(`a${activitySeq}`).toString('base64url');

function readListCursor(cursor: string): string {
  const match = /^a([1-9]\d{0,17})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw validationFailed('Query is invalid', { fields: { before: 'not a cursor from a previous page' } });
  return match[1]!;
}

function requireManager(role: MemberRole, action: string): void {
  if (role === 'member') throw forbidden(`Only the owner and admins ${action}`);
}
