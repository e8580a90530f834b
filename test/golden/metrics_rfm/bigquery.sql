-- metrics_rfm (rfm) for target bigquery (bigquery)
-- Built into `metrics__tl_work`.`metrics_rfm__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_rfm__tl_build`;

-- build
CREATE TABLE `metrics__tl_work`.`metrics_rfm__tl_build` AS
WITH kept AS (
  SELECT `src`.`customer_id` AS `__tl_customer_id`, `src`.`order_id` AS `__tl_order_id`, CAST(`src`.`ordered_at` AS DATE) AS `__tl_order_date`, CAST(`src`.`amount` AS NUMERIC(18,2)) AS `__tl_amount`
  FROM `metrics_raw`.`orders` AS `src`
  WHERE `src`.`customer_id` IS NOT NULL
    AND CAST(`src`.`ordered_at` AS DATE) <= DATE '2024-12-31'
    AND CAST(`src`.`ordered_at` AS DATE) > DATE_ADD(DATE '2024-12-31', INTERVAL -24 MONTH)
    AND NOT (COALESCE(`src`.`status` IN ('cancelled', 'returned'), FALSE))
),
totals AS (
  SELECT
    `__tl_customer_id` AS `customer_id`,
    DATE_DIFF(DATE(DATE '2024-12-31'), DATE(MAX(`__tl_order_date`)), DAY) AS `recency_days`,
    COUNT(`__tl_order_id`) AS `frequency`,
    SUM(`__tl_amount`) AS `monetary`,
    CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(`__tl_customer_id` AS STRING))), 1, 8)) AS INT64) AS `__tl_tie`
  FROM kept
  GROUP BY `__tl_customer_id`
),
scored AS (
  SELECT `customer_id`, `recency_days`, `frequency`, `monetary`,
    NTILE(5) OVER (ORDER BY `recency_days` DESC, `__tl_tie`, `customer_id`) AS `r_score`,
    NTILE(5) OVER (ORDER BY `frequency` ASC, `__tl_tie`, `customer_id`) AS `f_score`,
    NTILE(5) OVER (ORDER BY `monetary` ASC, `__tl_tie`, `customer_id`) AS `m_score`
  FROM totals
)
SELECT `customer_id`, `recency_days`, `frequency`, `monetary`, `r_score`, `f_score`, `m_score`,
  `r_score` * 100 + `f_score` * 10 + `m_score` AS `rfm_cell`,
  CASE WHEN `r_score` IN (5) AND `f_score` IN (4, 5) THEN 'Champions' WHEN `r_score` IN (3, 4) AND `f_score` IN (4, 5) THEN 'Loyal Customers' WHEN `r_score` IN (4, 5) AND `f_score` IN (2, 3) THEN 'Potential Loyalists' WHEN `r_score` IN (5) AND `f_score` IN (1) THEN 'New Customers' WHEN `r_score` IN (4) AND `f_score` IN (1) THEN 'Promising' WHEN `r_score` IN (3) AND `f_score` IN (3) THEN 'Need Attention' WHEN `r_score` IN (3) AND `f_score` IN (1, 2) THEN 'About to Sleep' WHEN `r_score` IN (1, 2) AND `f_score` IN (3, 4) THEN 'At Risk' WHEN `r_score` IN (1, 2) AND `f_score` IN (5) THEN 'Can\'t Lose Them' WHEN `r_score` IN (2) AND `f_score` IN (1, 2) THEN 'Hibernating' WHEN `r_score` IN (1) AND `f_score` IN (1, 2) THEN 'Lost' END AS `segment`
FROM scored;

-- swap in
CREATE OR REPLACE TABLE `metrics`.`metrics_rfm` COPY `metrics__tl_work`.`metrics_rfm__tl_build`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_rfm__tl_build`;
