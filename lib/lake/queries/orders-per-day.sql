-- Orders and revenue per day: for each day (UTC) the orders were processed, and each currency, the orders, the
-- units, the revenue (in minor units and in currency units) and the average order.
SELECT
  o.year || '-' || o.month || '-' || o.day AS processed_day,
  o.currency,
  count(*) AS orders,
  CAST(sum(o.units) AS BIGINT) AS units,
  CAST(sum(o.amount_cents) AS BIGINT) AS revenue_cents,
  round(CAST(sum(o.amount_cents) AS DOUBLE) / 100, 2) AS revenue,
  round(CAST(sum(o.amount_cents) AS DOUBLE) / 100 / count(*), 2) AS average_order
-- Each order once: a stream batch split after a failure can export a row twice (see the README, Export).
FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY exported_at) AS copy FROM processed_orders
) AS o
WHERE o.copy = 1
GROUP BY o.year, o.month, o.day, o.currency
ORDER BY processed_day, o.currency
