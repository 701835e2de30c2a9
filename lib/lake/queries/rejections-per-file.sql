-- Rejection reasons per file: for each order file with rejects (its intake report), each reason (the error class,
-- and class:rule for validation errors) with the orders it rejected, the file's accepted and rejected orders, and
-- the reason's share of the file's orders (one order may fail more than one rule).
SELECT
  r.key AS file_key,
  u.reason,
  r.rejected_by_reason[u.reason] AS orders,
  r.accepted AS file_accepted,
  r.rejected AS file_rejected,
  round(100 * CAST(r.rejected_by_reason[u.reason] AS DOUBLE) / (r.accepted + r.rejected), 1) AS orders_pct
FROM intake_reports AS r
CROSS JOIN UNNEST(map_keys(r.rejected_by_reason)) AS u (reason)
ORDER BY file_key, orders DESC, u.reason
