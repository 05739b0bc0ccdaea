-- Tables over every shard of the cluster, for reads of a store with several shards (re-created by every Migrate
-- when missing). The sharding key matches the shard the store writes a user's rows to: user_hi % shards.
CREATE TABLE IF NOT EXISTS events_all AS events ENGINE = Distributed({cluster}, {database}, events, user_hi);
CREATE TABLE IF NOT EXISTS credits_all AS credits ENGINE = Distributed({cluster}, {database}, credits, user_hi);
