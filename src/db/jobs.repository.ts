// SQL for jobs users ask for (exports): the row is the record, the queue only runs it.
import type { JobStatus } from '../contract/jobs.js';
import type { Queryable } from './database.js';
import { isUniqueViolation } from './database.js';

export interface JobRow {
  id: string;
  kind: 'export';
  userId: string;
  conversationId: string | null;
  status: JobStatus;
  filePath: string | null;
  error: string | null;
}

interface Row {
  id: string;
  kind: 'export';
  user_id: string;
  conversation_id: string | null;
  status: JobStatus;
  file_path: string | null;
  error: string | null;
}
const COLUMNS = 'id::text, kind, user_id::text, conversation_id::text, status, file_path, error';
const toJob = (row: Row): JobRow => ({
  id: row.id,
  kind: row.kind,
  userId: row.user_id,
  conversationId: row.conversation_id,
  status: row.status,
  filePath: row.file_path,
  error: row.error,
});

/** A new queued export, or undefined when the user has one queued or running already. */
export async function createExportJob(
  db: Queryable,
  userId: string,
  conversationId: string,
): Promise<JobRow | undefined> {
  try {
    const { rows } = await db.query<Row>(
      `INSERT INTO jobs (kind, user_id, conversation_id) VALUES ('export', $1, $2) RETURNING ${COLUMNS}`,
      [userId, conversationId],
    );
    return toJob(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
}

export async function findRunningExportOf(db: Queryable, userId: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM jobs WHERE user_id = $1 AND kind = 'export' AND status IN ('queued', 'running')`,
    [userId],
  );
  return rows[0] && toJob(rows[0]);
}

/** The user's own job; undefined for anyone else's (not told apart from a missing one). */
export async function findJobOf(db: Queryable, userId: string, jobId: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1 AND user_id = $2`, [jobId, userId]);
  return rows[0] && toJob(rows[0]);
}

/** Marks the job running and counts the attempt; undefined when it is finished (or gone) already. */
export async function startJob(db: Queryable, jobId: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE jobs SET status = 'running', attempts = attempts + 1 WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${COLUMNS}`,
    [jobId],
  );
  return rows[0] && toJob(rows[0]);
}

export async function finishJob(db: Queryable, jobId: string, filePath: string, ttlMs: number): Promise<void> {
  await db.query(
    `UPDATE jobs SET status = 'done', file_path = $2, finished_at = now(), expires_at = now() + $3 * interval '1 millisecond' WHERE id = $1`,
    [jobId, filePath, ttlMs],
  );
}

export async function failJob(db: Queryable, jobId: string, error: string, ttlMs: number): Promise<void> {
  await db.query(
    `UPDATE jobs SET status = 'failed', error = $2, finished_at = now(), expires_at = now() + $3 * interval '1 millisecond' WHERE id = $1`,
    [jobId, error, ttlMs],
  );
}

/** Unfinished jobs to put on the queue (never queued, or queued more than `recheckMs` ago), marked queued now. */
export async function claimJobsToQueue(
  db: Queryable,
  limit: number,
  recheckMs: number,
): Promise<Array<{ id: string; requeue: boolean }>> {
  const { rows } = await db.query<{ id: string; requeue: boolean }>(
    `WITH picked AS (
       SELECT id, relayed_at IS NOT NULL AS requeue FROM jobs
        WHERE status IN ('queued', 'running') AND (relayed_at IS NULL OR relayed_at < now() - $2 * interval '1 millisecond')
        ORDER BY relayed_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     UPDATE jobs j SET relayed_at = now() FROM picked p WHERE j.id = p.id RETURNING j.id::text, p.requeue`,
    [limit, recheckMs],
  );
  return rows;
}

/** Jobs past their EXPORT_TTL, with their files. */
export async function expiredJobs(
  db: Queryable,
  limit: number,
): Promise<Array<{ id: string; filePath: string | null }>> {
  const { rows } = await db.query<{ id: string; file_path: string | null }>(
    'SELECT id::text, file_path FROM jobs WHERE expires_at < now() ORDER BY expires_at LIMIT $1',
    [limit],
  );
  return rows.map((row) => ({ id: row.id, filePath: row.file_path }));
}

export async function deleteJobs(db: Queryable, ids: string[]): Promise<void> {
  await db.query('DELETE FROM jobs WHERE id = ANY($1::bigint[])', [ids]);
}
