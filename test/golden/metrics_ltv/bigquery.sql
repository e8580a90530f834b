-- metrics_ltv (ltv) for target bigquery (bigquery)
-- Built into `metrics__tl_work`.`metrics_ltv__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv__tl_build`;

-- build
CREATE TABLE `metrics__tl_work`.`metrics_ltv__tl_build` AS
WITH kept AS (
  SELECT `src`.`customer_id` AS `__tl_customer_id`, `src`.`order_id` AS `__tl_order_id`, CAST(`src`.`ordered_at` AS DATE) AS `__tl_order_date`, CAST(`src`.`amount` AS NUMERIC(18,2)) AS `__tl_amount`, CAST(`src`.`cost` AS NUMERIC(18,2)) AS `__tl_cost`
  FROM `metrics_raw`.`orders` AS `src`
  WHERE `src`.`customer_id` IS NOT NULL
    AND CAST(`src`.`ordered_at` AS DATE) <= DATE '2024-12-31'
    AND NOT (COALESCE(`src`.`status` IN ('cancelled', 'returned'), FALSE))
),
history AS (
  SELECT `__tl_customer_id` AS `customer_id`, MIN(`__tl_order_date`) AS `first_order_date`, MAX(`__tl_order_date`) AS `last_order_date`,
    COUNT(`__tl_order_id`) AS `order_count`, SUM((`__tl_amount` - COALESCE(`__tl_cost`, 0))) AS `value_to_date`
  FROM kept
  GROUP BY `__tl_customer_id`
)
SELECT
  `h`.`customer_id` AS `customer_id`,
  `h`.`first_order_date`,
  `h`.`last_order_date`,
  `h`.`order_count`,
  `h`.`value_to_date`,
  DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`h`.`first_order_date`), MONTH) + 1 AS `periods`,
  CAST(`h`.`value_to_date` AS FLOAT64) / (DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`h`.`first_order_date`), MONTH) + 1) AS `value_per_period`,
  CAST(`h`.`value_to_date` AS FLOAT64) / `h`.`order_count` AS `average_order_value`
FROM history AS `h`;

-- swap in
CREATE OR REPLACE TABLE `metrics`.`metrics_ltv` COPY `metrics__tl_work`.`metrics_ltv__tl_build`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv__tl_build`;
