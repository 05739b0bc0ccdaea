-- Report definitions stored before report layouts existed keep the rows layout (SPEC §13.2); new definitions name
-- their layout explicitly.
UPDATE reports SET definition = json_merge_patch(definition, '{"layout":"rows"}')
WHERE json_extract_string(definition, '$.layout') IS NULL OR json_extract_string(definition, '$.layout') = '';
