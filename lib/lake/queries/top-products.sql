-- Top products: the 20 SKUs that sold the most units (order lines of processed_items), with their category, the
-- orders they were in, their revenue, and their rank by units and by revenue (within the currency).
SELECT
  i.sku,
  i.category,
  i.currency,
  CAST(sum(i.quantity) AS BIGINT) AS units,
  count(DISTINCT i.order_id) AS orders,
  CAST(sum(i.line_cents) AS BIGINT) AS revenue_cents,
  round(CAST(sum(i.line_cents) AS DOUBLE) / 100, 2) AS revenue,
  rank() OVER (ORDER BY sum(i.quantity) DESC) AS units_rank,
  rank() OVER (PARTITION BY i.currency ORDER BY sum(i.line_cents) DESC) AS revenue_rank
-- Each line once: a stream batch split after a failure can export a row twice (see the README, Export).
FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id, line ORDER BY processed_at) AS copy FROM processed_items
) AS i
WHERE i.copy = 1
GROUP BY i.sku, i.category, i.currency
ORDER BY units DESC, revenue_cents DESC, i.sku
LIMIT 20
