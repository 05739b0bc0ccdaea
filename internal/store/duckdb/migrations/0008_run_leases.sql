-- Leases of RUNNING runs (store.RunClaim.LeaseUntil): a run whose lease expired may be claimed again. NULL means no
-- expiry, the state of every run claimed before leases existed.
ALTER TABLE report_runs ADD COLUMN lease_until BIGINT;
