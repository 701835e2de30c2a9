-- Revenue by customer segment: for each segment (new, returning, loyal, vip) and currency, the orders, the
-- customers, the revenue and its share of the currency's revenue, and the average order.
SELECT
  o.customer_segment AS segment,
  o.currency,
  count(*) AS orders,
  count(DISTINCT o.customer_id) AS customers,
  CAST(sum(o.amount_cents) AS BIGINT) AS revenue_cents,
  round(CAST(sum(o.amount_cents) AS DOUBLE) / 100, 2) AS revenue,
  round(100 * CAST(sum(o.amount_cents) AS DOUBLE) / sum(sum(o.amount_cents)) OVER (PARTITION BY o.currency), 1)
    AS revenue_pct,
  round(CAST(sum(o.amount_cents) AS DOUBLE) / 100 / count(*), 2) AS average_order
-- Each order once: a stream batch split after a failure can export a row twice (see the README, Export).
FROM (
  SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY exported_at) AS copy FROM processed_orders
) AS o
WHERE o.copy = 1
GROUP BY o.customer_segment, o.currency
ORDER BY o.currency, revenue_cents DESC, segment
