-- Pending-stock rate per day: for each day (UTC) the orders were processed, the orders, those stored with at least
-- one line waiting for stock (PENDING_STOCK), their share, and the lines waiting.
SELECT
  o.year || '-' || o.month || '-' || o.day AS processed_day,
  count(*) AS orders,
  CAST(sum(CASE WHEN o.stock_status = 'PENDING_STOCK' THEN 1 ELSE 0 END) AS BIGINT) AS pending_orders,
  round(100 * CAST(sum(CASE WHEN o.stock_status = 'PENDING_STOCK' THEN 1 ELSE 0 END) AS DOUBLE) / count(*), 1)
    AS pending_pct,
  CAST(sum(o.pending_items) AS BIGINT) AS pending_lines
-- Each order once: a stream batch split after a failure can export a row twice (see the README, Export).
FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY exported_at) AS copy FROM processed_orders
) AS o
WHERE o.copy = 1
GROUP BY o.year, o.month, o.day
ORDER BY processed_day
