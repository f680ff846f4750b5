-- Up Migration

-- The queue job that carries the delivery: several deliveries due together share one job (docs/jobs.md). NULL means
-- a job of its own, named delivery-<delivery_id>: deliveries queued before batches existed, or claimed by a relay
-- that stopped before it named their job.
ALTER TABLE notification_deliveries ADD COLUMN job_id text;

-- Down Migration

ALTER TABLE notification_deliveries DROP COLUMN job_id;
