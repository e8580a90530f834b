-- home_customer_orders (sql) for target snowflake (snowflake)
-- Built into "ANALYTICS__TL_WORK"."HOME_CUSTOMER_ORDERS__TL_BUILD", then swapped in by an atomic replace.

DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."HOME_CUSTOMER_ORDERS__TL_BUILD";

-- build
CREATE TABLE "ANALYTICS__TL_WORK"."HOME_CUSTOMER_ORDERS__TL_BUILD" AS
SELECT * FROM (
SELECT c.customer_id, c.email, COUNT(o.order_id) AS orders, SUM(o.amount) AS revenue
FROM "ANALYTICS"."CUSTOMERS_CLEAN" AS c
LEFT JOIN "ANALYTICS"."ORDERS_CLEAN" AS o ON o.customer_id = c.customer_id
WHERE c.country = 'FR'
GROUP BY c.customer_id, c.email
) AS q;

-- swap in
CREATE OR REPLACE TABLE "ANALYTICS"."HOME_CUSTOMER_ORDERS" CLONE "ANALYTICS__TL_WORK"."HOME_CUSTOMER_ORDERS__TL_BUILD";
DROP TABLE IF EXISTS "ANALYTICS__TL_WORK"."HOME_CUSTOMER_ORDERS__TL_BUILD";
