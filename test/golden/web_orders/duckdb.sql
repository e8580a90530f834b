-- web_orders (staging) for target duckdb (duckdb)
-- Built into "analytics__tl_work"."web_orders__tl_build", then swapped in inside one transaction.

DROP TABLE IF EXISTS "analytics__tl_work"."web_orders__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."web_orders__tl_build" AS
SELECT
  *
FROM "analytics"."orders_clean" AS src
WHERE "channel" = 'web';

-- swap in
DROP TABLE IF EXISTS "analytics"."web_orders";
CREATE TABLE "analytics"."web_orders" AS SELECT * FROM "analytics__tl_work"."web_orders__tl_build";
DROP TABLE IF EXISTS "analytics__tl_work"."web_orders__tl_build";
