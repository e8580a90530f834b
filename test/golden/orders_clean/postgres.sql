-- orders_clean (staging) for target postgres (postgres)
-- Built inside one transaction, into "analytics__tl_work"."orders_clean__tl_build", then swapped in before it commits.

DROP TABLE IF EXISTS "analytics__tl_work"."orders_clean__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."orders_clean__tl_build" AS
SELECT
  "order_id" AS "order_id",
  CAST("customer_id" AS TEXT) AS "customer_id",
  "ordered_at" AS "ordered_at",
  "order_date" AS "order_date",
  CAST("amount" AS NUMERIC(18,2)) AS "amount",
  "quantity" AS "quantity",
  lower(CAST("channel" AS TEXT)) AS "channel",
  CAST((amount * quantity) AS DOUBLE PRECISION) AS "line_value"
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
ALTER TABLE "analytics__tl_work"."orders_clean__tl_build" RENAME TO "orders_clean";
ALTER TABLE "analytics__tl_work"."orders_clean" SET SCHEMA "analytics";
