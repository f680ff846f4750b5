// Direct and group conversations and their membership. Non-members always get not_found: they learn nothing.
import type { Database } from '../db/database.js';
import * as conversations from '../db/conversations.repository.js';
import { countExistingUsers, findUserById } from '../db/users.repository.js';
import { AppError, conflict, notFound, validationFailed } from '../core/errors.js';
import type { Broadcaster } from './broadcaster.js';

type Conversation = conversations.Conversation;

export class ConversationsService {
  constructor(
    private readonly db: Database,
    private readonly broadcaster: Broadcaster,
  ) {}

  /** Returns the existing direct conversation between the two users rather than creating a second one. */
  async openDirect(userId: string, otherUserId: string): Promise<{ conversation: Conversation; created: boolean }> {
    if (otherUserId === userId) throw validationFailed('A direct conversation needs another user', { fields: { userId: 'must not be yourself' } });
    if (!(await findUserById(this.db.primary, otherUserId))) throw notFound('User');
    const key = conversations.directKey(userId, otherUserId);
    const createdId = await this.db.withTransaction(async (tx) => {
      const id = await conversations.insertConversation(tx, { kind: 'direct', title: null, directKey: key, createdBy: userId });
      if (id) await conversations.addMembers(tx, id, [userId, otherUserId]);
      return id;
    });
    const id = createdId ?? (await conversations.findDirectConversationId(this.db.primary, key));
    const conversation = await this.get(userId, id!);
    if (createdId) this.broadcaster.membersAdded(conversation, [userId, otherUserId]);
    return { conversation, created: Boolean(createdId) };
  }

  async createGroup(userId: string, title: string, memberIds: string[]): Promise<Conversation> {
    const members = [...new Set([userId, ...memberIds])];
    const existing = await countExistingUsers(this.db.primary, members);
    if (existing !== members.length) {
      throw validationFailed('Some members do not exist', { fields: { memberIds: 'every id must be an existing user' } });
    }
    const id = await this.db.withTransaction(async (tx) => {
      const created = await conversations.insertConversation(tx, { kind: 'group', title, directKey: null, createdBy: userId });
      await conversations.addMembers(tx, created!, members);
      return created!;
    });
    const conversation = await this.get(userId, id);
    this.broadcaster.membersAdded(conversation, members);
    return conversation;
  }

  /** Read from the primary: a client fetching what it just created or joined must see it. */
  async get(userId: string, conversationId: string): Promise<Conversation> {
    const conversation = await conversations.findConversationForMember(this.db.primary, conversationId, userId);
    if (!conversation) throw notFound('Conversation');
    return conversation;
  }

  /** A listing tolerates replica lag. */
  list(userId: string): Promise<conversations.ConversationSummary[]> {
    return conversations.listConversationsOf(this.db.reader(), userId);
  }

  async addMember(actorId: string, conversationId: string, userId: string): Promise<Conversation> {
    await this.requireGroupMembership(actorId, conversationId);
    if (!(await findUserById(this.db.primary, userId))) throw notFound('User');
    const added = await conversations.addMembers(this.db.primary, conversationId, [userId]);
    if (added.length === 0) throw conflict('That user is already a member');
    const conversation = await this.get(actorId, conversationId);
    this.broadcaster.membersAdded(conversation, added);
    return conversation;
  }

  async removeMember(actorId: string, conversationId: string, userId: string): Promise<void> {
    await this.requireGroupMembership(actorId, conversationId);
    if (!(await conversations.removeMember(this.db.primary, conversationId, userId))) throw notFound('Member');
    this.broadcaster.memberRemoved(conversationId, userId);
  }

  private async requireGroupMembership(actorId: string, conversationId: string): Promise<void> {
    if (!(await conversations.isMember(this.db.primary, conversationId, actorId))) throw notFound('Conversation');
    if ((await conversations.findKind(this.db.primary, conversationId)) !== 'group') {
      throw new AppError('forbidden', 'Members can only be changed in group conversations');
    }
  }
}
