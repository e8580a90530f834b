-- web_orders (staging) for target postgres (postgres)
-- Built into "analytics"."web_orders__tl_build", then swapped in inside one transaction.

DROP TABLE IF EXISTS "analytics"."web_orders__tl_build";

-- build
CREATE TABLE "analytics"."web_orders__tl_build" AS
SELECT
  *
FROM "analytics"."orders_clean" AS src
WHERE "channel" = 'web';

-- swap in
DROP TABLE IF EXISTS "analytics"."web_orders";
ALTER TABLE "analytics"."web_orders__tl_build" RENAME TO "web_orders";
