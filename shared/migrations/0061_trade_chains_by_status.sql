-- Listing trades of one status newest first: executed, blocked, failed and held by their
-- outcome, open and stalled (no outcome yet) by outcome IS NULL, each in start order, so a
-- page of a rare status reads its own chains rather than filtering every chain of the day.
CREATE INDEX IF NOT EXISTS trade_chains_outcome_started
    ON trade_chains (outcome, started DESC, key DESC) WHERE trading;

-- The minute's stalled check looks only at chains not alerted yet: once alerted a chain
-- leaves this index, which stays small, and listings of stalled chains go by start order.
DROP INDEX IF EXISTS trade_chains_deadline;
CREATE INDEX IF NOT EXISTS trade_chains_due
    ON trade_chains (deadline) WHERE trading AND outcome IS NULL AND stalled_alert IS NULL;
