-- metrics_ltv_predictive (ltv) for target bigquery (bigquery)
-- Built into `metrics__tl_work`.`metrics_ltv_predictive__tl_build`, `metrics__tl_work`.`metrics_ltv_predictive__tl_params`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_build`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_params`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_summary`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_scores`;

-- summarise customers (frequency, recency, age, mean value)
CREATE TABLE `metrics__tl_work`.`metrics_ltv_predictive__tl_summary` AS
WITH kept AS (
  SELECT `src`.`customer_id` AS `__tl_customer_id`, `src`.`order_id` AS `__tl_order_id`, CAST(`src`.`ordered_at` AS DATE) AS `__tl_order_date`, CAST(`src`.`amount` AS NUMERIC(18,2)) AS `__tl_amount`
  FROM `metrics_raw`.`orders` AS `src`
  WHERE `src`.`customer_id` IS NOT NULL
    AND CAST(`src`.`ordered_at` AS DATE) <= DATE '2024-12-31'
    AND NOT (COALESCE(`src`.`status` IN ('cancelled', 'returned'), FALSE) OR COALESCE(SUBSTR(CAST(`src`.`order_id` AS STRING), 1, LENGTH('X')) = 'X', FALSE))
),
days AS (
  SELECT `__tl_customer_id`, `__tl_order_date` AS `day`, SUM(`__tl_amount`) AS `value`
  FROM kept
  GROUP BY `__tl_customer_id`, `__tl_order_date`
),
marked AS (
  SELECT `__tl_customer_id`, `day`, `value`, MIN(`day`) OVER (PARTITION BY `__tl_customer_id`) AS `first_day`
  FROM days
)
SELECT
  `__tl_customer_id` AS `customer_id`,
  COUNT(*) - 1 AS `frequency`,
  DATE_DIFF(DATE(MAX(`day`)), DATE(MIN(`day`)), DAY) AS `recency_days`,
  DATE_DIFF(DATE(DATE '2024-12-31'), DATE(MIN(`day`)), DAY) AS `age_days`,
  CASE WHEN COUNT(*) > 1 THEN CAST(SUM(CASE WHEN `day` > `first_day` THEN `value` END) AS FLOAT64) / (COUNT(*) - 1) END AS `mean_value`
FROM marked
GROUP BY `__tl_customer_id`;

-- fit BG/NBD and Gamma-Gamma: computed by Tideline, not SQL
--   Reads the distinct (frequency, recency_days, age_days) triples of `metrics__tl_work`.`metrics_ltv_predictive__tl_summary` with their counts, and the distinct
--   (frequency, mean_value) pairs of repeat customers; fits BG/NBD and Gamma-Gamma by maximum likelihood (time unit: week);
--   writes the parameters, log-likelihoods and convergence into `metrics__tl_work`.`metrics_ltv_predictive__tl_params`, and P(alive), expected purchases over
--   12 months and discounted expected purchases (monthly rate 0.01) per triple into `metrics__tl_work`.`metrics_ltv_predictive__tl_scores`.

-- build
CREATE TABLE `metrics__tl_work`.`metrics_ltv_predictive__tl_build` AS
WITH kept AS (
  SELECT `src`.`customer_id` AS `__tl_customer_id`, `src`.`order_id` AS `__tl_order_id`, CAST(`src`.`ordered_at` AS DATE) AS `__tl_order_date`, CAST(`src`.`amount` AS NUMERIC(18,2)) AS `__tl_amount`
  FROM `metrics_raw`.`orders` AS `src`
  WHERE `src`.`customer_id` IS NOT NULL
    AND CAST(`src`.`ordered_at` AS DATE) <= DATE '2024-12-31'
    AND NOT (COALESCE(`src`.`status` IN ('cancelled', 'returned'), FALSE) OR COALESCE(SUBSTR(CAST(`src`.`order_id` AS STRING), 1, LENGTH('X')) = 'X', FALSE))
),
history AS (
  SELECT `__tl_customer_id` AS `customer_id`, MIN(`__tl_order_date`) AS `first_order_date`, MAX(`__tl_order_date`) AS `last_order_date`,
    COUNT(`__tl_order_id`) AS `order_count`, SUM(`__tl_amount`) AS `value_to_date`
  FROM kept
  GROUP BY `__tl_customer_id`
),
gg AS (
  SELECT MAX(CASE WHEN `submodel` = 'gamma_gamma' AND `parameter` = 'p' THEN `value` END) AS `p`, MAX(CASE WHEN `submodel` = 'gamma_gamma' AND `parameter` = 'q' THEN `value` END) AS `q`, MAX(CASE WHEN `submodel` = 'gamma_gamma' AND `parameter` = 'v' THEN `value` END) AS `v`
  FROM `metrics__tl_work`.`metrics_ltv_predictive__tl_params`
)
SELECT
  `h`.`customer_id` AS `customer_id`,
  `h`.`first_order_date`,
  `h`.`last_order_date`,
  `h`.`order_count`,
  `h`.`value_to_date`,
  DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`h`.`first_order_date`), MONTH) + 1 AS `periods`,
  CAST(`h`.`value_to_date` AS FLOAT64) / (DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`h`.`first_order_date`), MONTH) + 1) AS `value_per_period`,
  CAST(`h`.`value_to_date` AS FLOAT64) / `h`.`order_count` AS `average_order_value`,
  `s`.`frequency`,
  CAST(`s`.`recency_days` AS FLOAT64) / 7 AS `recency`,
  CAST(`s`.`age_days` AS FLOAT64) / 7 AS `age`,
  `s`.`mean_value`,
  `sc`.`p_alive`,
  `sc`.`expected_purchases`,
  CASE WHEN `s`.`customer_id` IS NULL THEN NULL WHEN `s`.`frequency` > 0 AND `s`.`mean_value` > 0 THEN `pr`.`p` * (`pr`.`v` + `s`.`frequency` * `s`.`mean_value`) / (`pr`.`p` * `s`.`frequency` + `pr`.`q` - 1) ELSE `pr`.`p` * `pr`.`v` / (`pr`.`q` - 1) END AS `expected_value`,
  `sc`.`discounted_purchases` * (CASE WHEN `s`.`customer_id` IS NULL THEN NULL WHEN `s`.`frequency` > 0 AND `s`.`mean_value` > 0 THEN `pr`.`p` * (`pr`.`v` + `s`.`frequency` * `s`.`mean_value`) / (`pr`.`p` * `s`.`frequency` + `pr`.`q` - 1) ELSE `pr`.`p` * `pr`.`v` / (`pr`.`q` - 1) END) AS `clv`
FROM history AS `h`
LEFT JOIN `metrics__tl_work`.`metrics_ltv_predictive__tl_summary` AS `s` ON `s`.`customer_id` = `h`.`customer_id`
LEFT JOIN `metrics__tl_work`.`metrics_ltv_predictive__tl_scores` AS `sc` ON `sc`.`frequency` = `s`.`frequency` AND `sc`.`recency_days` = `s`.`recency_days` AND `sc`.`age_days` = `s`.`age_days`
CROSS JOIN gg AS `pr`;

-- swap in
CREATE OR REPLACE TABLE `metrics`.`metrics_ltv_predictive_params` COPY `metrics__tl_work`.`metrics_ltv_predictive__tl_params`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_params`;
CREATE OR REPLACE TABLE `metrics`.`metrics_ltv_predictive` COPY `metrics__tl_work`.`metrics_ltv_predictive__tl_build`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_build`;

-- clean up
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_summary`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_ltv_predictive__tl_scores`;
