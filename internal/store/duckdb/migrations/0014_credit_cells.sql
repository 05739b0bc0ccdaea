-- Credits carry the cell of their node (resolved platform, locale, variation) as an integer, as events do: the
-- conversion statement groups and compares one integer per credit instead of packing and hashing three strings.
-- Credit cells share the cells table with event cells, marked by pdef 255 (events' platform defaults are small),
-- so both get ids from one sequence.
INSERT INTO cells
SELECT (SELECT coalesce(max(id), 0) FROM cells) + row_number() OVER (ORDER BY platform, locale, variation), platform, 255, locale, variation
FROM (SELECT platform, locale, variation FROM credits UNION SELECT platform, locale, variation FROM credits_sorted);
ALTER TABLE credits ADD COLUMN cell INTEGER;
ALTER TABLE credits_sorted ADD COLUMN cell INTEGER;
UPDATE credits SET cell = k.id FROM cells k
WHERE k.pdef = 255 AND k.platform = credits.platform AND k.locale = credits.locale AND k.variation = credits.variation;
UPDATE credits_sorted SET cell = k.id FROM cells k
WHERE k.pdef = 255 AND k.platform = credits_sorted.platform AND k.locale = credits_sorted.locale
    AND k.variation = credits_sorted.variation;
