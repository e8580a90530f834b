-- orders_clean (staging) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`orders_clean__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `analytics__tl_work`.`orders_clean__tl_build`;

-- build
CREATE TABLE `analytics__tl_work`.`orders_clean__tl_build` AS
SELECT
  `order_id` AS `order_id`,
  CAST(`customer_id` AS STRING) AS `customer_id`,
  `ordered_at` AS `ordered_at`,
  `order_date` AS `order_date`,
  CAST(`amount` AS NUMERIC(18,2)) AS `amount`,
  `quantity` AS `quantity`,
  LOWER(CAST(`channel` AS STRING)) AS `channel`,
  CAST((amount * quantity) AS FLOAT64) AS `line_value`
FROM `raw`.`orders` AS src
WHERE `cancelled` = FALSE
  AND `amount` > 0
  AND `quantity` <= 100
  AND `channel` IN ('web', 'store', 'app')
  AND `order_date` < DATE '2025-01-01'
  AND `ordered_at` >= CAST('2024-01-01 00:00:00.000' AS TIMESTAMP)
  AND (`coupon` <> 'STAFF' OR `coupon` IS NULL)
  AND `order_id` IS NOT NULL;

-- swap in
CREATE OR REPLACE TABLE `analytics`.`orders_clean` COPY `analytics__tl_work`.`orders_clean__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`orders_clean__tl_build`;
