-- orders_clean (staging) for target duckdb (duckdb)
-- Built into "analytics__tl_work"."orders_clean__tl_build", then swapped in inside one transaction.

DROP TABLE IF EXISTS "analytics__tl_work"."orders_clean__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."orders_clean__tl_build" AS
SELECT
  "order_id" AS "order_id",
  CAST("customer_id" AS VARCHAR) AS "customer_id",
  "ordered_at" AS "ordered_at",
  "order_date" AS "order_date",
  CAST("amount" AS DECIMAL(18,2)) AS "amount",
  "quantity" AS "quantity",
  lower(CAST("channel" AS VARCHAR)) AS "channel",
  CAST((amount * quantity) AS DOUBLE) AS "line_value"
FROM "raw"."orders" AS src
WHERE "cancelled" = FALSE
  AND "amount" > 0
  AND "quantity" <= 100
  AND "channel" IN ('web', 'store', 'app')
  AND "order_date" < DATE '2025-01-01'
  AND "ordered_at" >= CAST('2024-01-01 00:00:00.000' AS TIMESTAMP)
  AND ("coupon" <> 'STAFF' OR "coupon" IS NULL)
  AND "order_id" IS NOT NULL;

-- swap in
DROP TABLE IF EXISTS "analytics"."orders_clean";
CREATE TABLE "analytics"."orders_clean" AS SELECT * FROM "analytics__tl_work"."orders_clean__tl_build";
DROP TABLE IF EXISTS "analytics__tl_work"."orders_clean__tl_build";
