-- Stethoscope snapshot store, version 6: the generation of a night's export.
-- Every document an export sends carries its generation (a fresh one for each export that starts from the
-- first device; a resumed export keeps it). Once every document of the night is answered, the export deletes
-- the night's documents of any other generation: devices of an earlier snapshot of the night that the re-run
-- no longer has. NULL for exports written before this version (they start a new generation when repeated).

ALTER TABLE exports ADD COLUMN generation TEXT;
