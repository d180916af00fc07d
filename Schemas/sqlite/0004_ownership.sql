-- Stethoscope snapshot store, version 4: who owns the devices, per night.

-- daily_ownership: per night and ownership method ('source_hint', 'attribution', 'none') and the source or
-- attribution plugin that decided it (owner_via): devices, devices with no owner, and devices whose owner is a
-- former employee (inactive in that night's directory).
--   SELECT as_of, SUM(no_owner) AS no_owner, SUM(former_employee_owner) AS former FROM daily_ownership GROUP BY as_of;
--   SELECT owner_via, devices FROM daily_ownership WHERE as_of = (SELECT as_of FROM latest_night) AND owner_method = 'attribution';
CREATE VIEW daily_ownership AS
SELECT d.as_of, d.owner_method, d.owner_via,
       COUNT(*) AS devices,
       SUM(d.owner IS NULL) AS no_owner,
       SUM(COALESCE(p.active = 0, 0)) AS former_employee_owner
FROM devices d
LEFT JOIN people p ON p.as_of = d.as_of AND p.email = d.owner
GROUP BY d.as_of, d.owner_method, d.owner_via;
