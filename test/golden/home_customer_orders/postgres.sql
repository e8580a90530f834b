-- home_customer_orders (sql) for target postgres (postgres)
-- Built inside one transaction, into "analytics__tl_work"."home_customer_orders__tl_build", then swapped in before it commits.

DROP TABLE IF EXISTS "analytics__tl_work"."home_customer_orders__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."home_customer_orders__tl_build" AS
SELECT * FROM (
SELECT c.customer_id, c.email, COUNT(o.order_id) AS orders, SUM(o.amount) AS revenue
FROM "analytics"."customers_clean" AS c
LEFT JOIN "analytics"."orders_clean" AS o ON o.customer_id = c.customer_id
WHERE c.country = 'FR'
GROUP BY c.customer_id, c.email
) AS q;

-- swap in
DROP TABLE IF EXISTS "analytics"."home_customer_orders";
ALTER TABLE "analytics__tl_work"."home_customer_orders__tl_build" RENAME TO "home_customer_orders";
ALTER TABLE "analytics__tl_work"."home_customer_orders" SET SCHEMA "analytics";
