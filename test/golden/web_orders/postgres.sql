-- web_orders (staging) for target postgres (postgres)
-- Built inside one transaction, into "analytics__tl_work"."web_orders__tl_build", then swapped in before it commits.

DROP TABLE IF EXISTS "analytics__tl_work"."web_orders__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."web_orders__tl_build" AS
SELECT
  *
FROM "analytics"."orders_clean" AS src
WHERE "channel" = 'web';

-- swap in
DROP TABLE IF EXISTS "analytics"."web_orders";
ALTER TABLE "analytics__tl_work"."web_orders__tl_build" RENAME TO "web_orders";
ALTER TABLE "analytics__tl_work"."web_orders" SET SCHEMA "analytics";
