-- Stethoscope snapshot store, version 9: the roll-up rows that hold fixes, found without reading the rest.
-- The report counts fixes and time to fix on every night of its window for every group (a manager page and the
-- overview must agree); fixes are rare status changes, so this partial index makes that read cost the fixes,
-- not groups x practices x nights.
CREATE INDEX rollup_practices_fixed ON rollup_practices (chart, as_of) WHERE fixed > 0;
-- From this version rollup_practices.fix_nights holds one token per distinct duration, "3*40" for forty fixes of 3
-- nights ("3" for one), so its size no longer grows with the devices fixed; rows written before hold one plain
-- token per fix and read the same.
