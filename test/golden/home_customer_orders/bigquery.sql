-- home_customer_orders (sql) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`home_customer_orders__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `analytics__tl_work`.`home_customer_orders__tl_build`;

-- build
CREATE TABLE `analytics__tl_work`.`home_customer_orders__tl_build` AS
SELECT * FROM (
SELECT c.customer_id, c.email, COUNT(o.order_id) AS orders, SUM(o.amount) AS revenue
FROM `analytics`.`customers_clean` AS c
LEFT JOIN `analytics`.`orders_clean` AS o ON o.customer_id = c.customer_id
WHERE c.country = 'FR'
GROUP BY c.customer_id, c.email
) AS q;

-- swap in
CREATE OR REPLACE TABLE `analytics`.`home_customer_orders` COPY `analytics__tl_work`.`home_customer_orders__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`home_customer_orders__tl_build`;
