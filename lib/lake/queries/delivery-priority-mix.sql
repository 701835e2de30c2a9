-- Delivery priority mix: how the orders divide between the delivery priorities (urgent, high, normal, low), with
-- each one's share of the orders, its units and its average shipping cost (in currency units, all currencies).
SELECT
  o.delivery_priority AS priority,
  count(*) AS orders,
  round(100 * CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (), 1) AS orders_pct,
  CAST(sum(o.units) AS BIGINT) AS units,
  round(CAST(sum(o.shipping_cents) AS DOUBLE) / 100 / count(*), 2) AS average_shipping
-- Each order once: a stream batch split after a failure can export a row twice (see the README, Export).
FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY exported_at) AS copy FROM processed_orders
) AS o
WHERE o.copy = 1
GROUP BY o.delivery_priority
ORDER BY
  CASE o.delivery_priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END,
  priority
