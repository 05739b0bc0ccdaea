-- A void can cover one unit's credits of a goal event: when a new interaction changes a goal event's credits for
-- its own unit only, the credit upkeep writes that unit's credits again and leaves the others as stored. unit ''
-- voids every credit of the goal event (the voids written before this column, and whole replacements).
ALTER TABLE credit_voids ADD COLUMN unit VARCHAR DEFAULT '';
