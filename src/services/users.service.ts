// Finding other users: a username prefix search for starting conversations.
import type { User } from '../contract/users.js';
import type { Database } from '../db/database.js';
import { searchUsersByPrefix } from '../db/users.repository.js';

const USER_SEARCH_LIMIT = 20;

export class UsersService {
  constructor(private readonly db: Database) {}

  /** At most USER_SEARCH_LIMIT users whose username starts with `prefix` (any case). Tolerates replica lag. */
  search(prefix: string): Promise<User[]> {
    return searchUsersByPrefix(this.db.reader(), prefix.toLowerCase(), USER_SEARCH_LIMIT);
  }
}
