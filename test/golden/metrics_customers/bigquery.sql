-- metrics_customers (customers) for target bigquery (bigquery)
-- Built into `metrics__tl_work`.`metrics_customers__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_customers__tl_build`;

-- build
CREATE TABLE `metrics__tl_work`.`metrics_customers__tl_build` AS
WITH kept AS (
  SELECT `src`.`customer_id` AS `__tl_customer_id`, `src`.`order_id` AS `__tl_order_id`, CAST(`src`.`ordered_at` AS DATE) AS `__tl_order_date`, CAST(`src`.`amount` AS NUMERIC(18,2)) AS `__tl_amount`, CAST(`src`.`cost` AS NUMERIC(18,2)) AS `__tl_cost`, CAST(`src`.`channel` AS STRING) AS `__tl_channel`, CAST(`src`.`store_id` AS STRING) AS `__tl_store`, `src`.*
  FROM `metrics_raw`.`orders` AS `src`
  WHERE `src`.`customer_id` IS NOT NULL
    AND CAST(`src`.`ordered_at` AS DATE) <= DATE '2024-12-31'
    AND NOT (COALESCE(`src`.`status` IN ('cancelled', 'returned'), FALSE))
),
totals AS (
  SELECT
    `__tl_customer_id` AS `customer_id`,
    MIN(`__tl_order_date`) AS `first_order_date`,
    MAX(`__tl_order_date`) AS `last_order_date`,
    COUNT(`__tl_order_id`) AS `order_count`,
    SUM(`__tl_amount`) AS `revenue`,
    SUM(`__tl_amount`) - SUM(`__tl_cost`) AS `margin`,
    CAST((MAX(amount)) AS NUMERIC(18,2)) AS `largest_order`,
    MAX(CASE WHEN `__tl_order_date` > DATE_ADD(DATE '2024-12-31', INTERVAL -12 MONTH) THEN `__tl_order_date` END) AS `__tl_rfm_last`,
    COUNT(CASE WHEN `__tl_order_date` > DATE_ADD(DATE '2024-12-31', INTERVAL -12 MONTH) THEN `__tl_order_id` END) AS `__tl_rfm_frequency`,
    SUM(CASE WHEN `__tl_order_date` > DATE_ADD(DATE '2024-12-31', INTERVAL -12 MONTH) THEN `__tl_amount` END) AS `__tl_rfm_monetary`,
    CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(`__tl_customer_id` AS STRING))), 1, 8)) AS INT64) AS `__tl_tie`
  FROM kept
  GROUP BY `__tl_customer_id`
),
everyone AS (
  SELECT DISTINCT `customer_id` FROM (
    SELECT `p`.`customer_id` AS `customer_id` FROM `metrics_raw`.`people` AS `p` WHERE `p`.`customer_id` IS NOT NULL
    UNION ALL
    SELECT `customer_id` FROM totals
  ) AS ids
),
channels AS (
  SELECT `__tl_customer_id`, `value`
  FROM (
    SELECT `__tl_customer_id`, `__tl_channel` AS `value`,
      ROW_NUMBER() OVER (PARTITION BY `__tl_customer_id` ORDER BY COUNT(`__tl_order_id`) DESC, SUM(`__tl_amount`) DESC, `__tl_channel` ASC) AS `rank`
    FROM kept
    WHERE `__tl_channel` IS NOT NULL
    GROUP BY `__tl_customer_id`, `__tl_channel`
  ) AS ranked
  WHERE `rank` = 1
),
stores AS (
  SELECT `__tl_customer_id`, `value`
  FROM (
    SELECT `__tl_customer_id`, `__tl_store` AS `value`,
      ROW_NUMBER() OVER (PARTITION BY `__tl_customer_id` ORDER BY COUNT(`__tl_order_id`) DESC, SUM(`__tl_amount`) DESC, `__tl_store` ASC) AS `rank`
    FROM kept
    WHERE `__tl_store` IS NOT NULL
    GROUP BY `__tl_customer_id`, `__tl_store`
  ) AS ranked
  WHERE `rank` = 1
),
kept_lines AS (
  SELECT `k`.`__tl_customer_id`, `k`.`__tl_order_id`, `l`.*
  FROM `metrics_raw`.`order_lines` AS `l`
  JOIN (SELECT `__tl_customer_id`, `__tl_order_id` FROM kept) AS `k` ON `k`.`__tl_order_id` = `l`.`order_id`
  WHERE NOT (COALESCE(`l`.`quantity` < 0, FALSE))
),
line_totals AS (
  SELECT `__tl_customer_id`, SUM(CAST(`quantity` AS FLOAT64)) AS `item_count`, CAST((COUNT(DISTINCT category)) AS INT64) AS `distinct_categories`
  FROM kept_lines
  GROUP BY `__tl_customer_id`
),
categories AS (
  SELECT `__tl_customer_id`, `value`
  FROM (
    SELECT `__tl_customer_id`, CAST(`category` AS STRING) AS `value`,
      ROW_NUMBER() OVER (PARTITION BY `__tl_customer_id` ORDER BY COUNT(DISTINCT `__tl_order_id`) DESC, SUM(CAST(`quantity` AS FLOAT64)) DESC, CAST(`category` AS STRING) ASC) AS `rank`
    FROM kept_lines
    WHERE CAST(`category` AS STRING) IS NOT NULL
    GROUP BY `__tl_customer_id`, CAST(`category` AS STRING)
  ) AS ranked
  WHERE `rank` = 1
),
consent_latest AS (
  SELECT `__tl_customer_id`, `channel_key`, `opted_in`
  FROM (
    SELECT `ev`.`customer_id` AS `__tl_customer_id`, CASE WHEN `ev`.`channel` = 'EMAIL' THEN 'email' WHEN `ev`.`channel` = 'SMS' THEN 'sms' WHEN `ev`.`channel` = 'ADS' THEN 'ads' END AS `channel_key`, CASE WHEN `ev`.`status` IN ('subscribed') THEN TRUE WHEN `ev`.`status` IN ('unsubscribed') THEN FALSE END AS `opted_in`,
      ROW_NUMBER() OVER (PARTITION BY `ev`.`customer_id`, CASE WHEN `ev`.`channel` = 'EMAIL' THEN 'email' WHEN `ev`.`channel` = 'SMS' THEN 'sms' WHEN `ev`.`channel` = 'ADS' THEN 'ads' END ORDER BY `ev`.`occurred_at` DESC, CASE WHEN CASE WHEN `ev`.`status` IN ('subscribed') THEN TRUE WHEN `ev`.`status` IN ('unsubscribed') THEN FALSE END THEN 1 ELSE 0 END ASC) AS `rank`
    FROM `metrics_raw`.`consent_events` AS `ev`
    WHERE `ev`.`customer_id` IS NOT NULL AND `ev`.`occurred_at` IS NOT NULL AND CASE WHEN `ev`.`channel` = 'EMAIL' THEN 'email' WHEN `ev`.`channel` = 'SMS' THEN 'sms' WHEN `ev`.`channel` = 'ADS' THEN 'ads' END IS NOT NULL AND CASE WHEN `ev`.`status` IN ('subscribed') THEN TRUE WHEN `ev`.`status` IN ('unsubscribed') THEN FALSE END IS NOT NULL
  ) AS ranked
  WHERE `rank` = 1
),
consent AS (
  SELECT `__tl_customer_id`,
    MAX(CASE WHEN `channel_key` = 'email' THEN CASE WHEN `opted_in` THEN 1 ELSE 0 END END) = 1 AS `consent_email`,
    MAX(CASE WHEN `channel_key` = 'sms' THEN CASE WHEN `opted_in` THEN 1 ELSE 0 END END) = 1 AS `consent_sms`,
    MAX(CASE WHEN `channel_key` = 'ads' THEN CASE WHEN `opted_in` THEN 1 ELSE 0 END END) = 1 AS `consent_ads`
  FROM consent_latest
  GROUP BY `__tl_customer_id`
),
scored AS (
  SELECT
    `e`.`customer_id` AS `customer_id`,
    `t`.`first_order_date` AS `first_order_date`,
    `t`.`last_order_date` AS `last_order_date`,
    COALESCE(`t`.`order_count`, 0) AS `order_count`,
    COALESCE(`t`.`revenue`, 0) AS `revenue`,
    COALESCE(`t`.`margin`, 0) AS `margin`,
    CASE WHEN `t`.`order_count` > 0 THEN CAST(`t`.`revenue` AS FLOAT64) / `t`.`order_count` END AS `average_basket`,
    DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`last_order_date`), DAY) AS `days_since_last_order`,
    CASE WHEN `t`.`order_count` > 1 THEN CAST(DATE_DIFF(DATE(`t`.`last_order_date`), DATE(`t`.`first_order_date`), DAY) AS FLOAT64) / (`t`.`order_count` - 1) END AS `average_days_between_orders`,
    `ch`.`value` AS `favourite_channel`,
    `st`.`value` AS `favourite_store`,
    `cat`.`value` AS `favourite_category`,
    COALESCE(`lt`.`item_count`, 0) AS `item_count`,
    `cs`.`consent_email` AS `consent_email`,
    `cs`.`consent_sms` AS `consent_sms`,
    `cs`.`consent_ads` AS `consent_ads`,
    CASE
      WHEN COALESCE(`t`.`order_count`, 0) = 0 THEN 'prospect'
      WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`first_order_date`), DAY) <= 30 THEN 'new'
      WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`last_order_date`), DAY) <= 90 THEN 'active'
      WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`last_order_date`), DAY) <= 365 THEN 'at_risk'
      WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`last_order_date`), DAY) > 365 THEN 'inactive'
    END AS `lifecycle_stage`,
    `t`.`largest_order`,
    `lt`.`distinct_categories`,
    CASE WHEN COALESCE(`t`.`__tl_rfm_frequency`, 0) > 0 THEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`__tl_rfm_last`), DAY) END AS `rfm_recency_days`,
    CASE WHEN COALESCE(`t`.`__tl_rfm_frequency`, 0) > 0 THEN `t`.`__tl_rfm_frequency` END AS `rfm_frequency`,
    CASE WHEN COALESCE(`t`.`__tl_rfm_frequency`, 0) > 0 THEN `t`.`__tl_rfm_monetary` END AS `rfm_monetary`,
    CASE WHEN COALESCE(`t`.`__tl_rfm_frequency`, 0) > 0 THEN CASE WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`__tl_rfm_last`), DAY) <= 30 THEN 5 WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`__tl_rfm_last`), DAY) <= 90 THEN 4 WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`__tl_rfm_last`), DAY) <= 180 THEN 3 WHEN DATE_DIFF(DATE(DATE '2024-12-31'), DATE(`t`.`__tl_rfm_last`), DAY) <= 365 THEN 2 ELSE 1 END END AS `r_score`,
    CASE WHEN COALESCE(`t`.`__tl_rfm_frequency`, 0) > 0 THEN CASE WHEN `t`.`__tl_rfm_frequency` >= 10 THEN 5 WHEN `t`.`__tl_rfm_frequency` >= 5 THEN 4 WHEN `t`.`__tl_rfm_frequency` >= 3 THEN 3 WHEN `t`.`__tl_rfm_frequency` >= 2 THEN 2 ELSE 1 END END AS `f_score`,
    CASE WHEN COALESCE(`t`.`__tl_rfm_frequency`, 0) > 0 THEN CASE WHEN `t`.`__tl_rfm_monetary` >= 500 THEN 5 WHEN `t`.`__tl_rfm_monetary` >= 200 THEN 4 WHEN `t`.`__tl_rfm_monetary` >= 100 THEN 3 WHEN `t`.`__tl_rfm_monetary` >= 50 THEN 2 ELSE 1 END END AS `m_score`
  FROM everyone AS `e`
  LEFT JOIN totals AS `t` ON `t`.`customer_id` = `e`.`customer_id`
  LEFT JOIN channels AS `ch` ON `ch`.`__tl_customer_id` = `e`.`customer_id`
  LEFT JOIN stores AS `st` ON `st`.`__tl_customer_id` = `e`.`customer_id`
  LEFT JOIN line_totals AS `lt` ON `lt`.`__tl_customer_id` = `e`.`customer_id`
  LEFT JOIN categories AS `cat` ON `cat`.`__tl_customer_id` = `e`.`customer_id`
  LEFT JOIN consent AS `cs` ON `cs`.`__tl_customer_id` = `e`.`customer_id`
)
SELECT `customer_id`, `first_order_date`, `last_order_date`, `order_count`, `revenue`, `margin`, `average_basket`, `days_since_last_order`, `average_days_between_orders`, `favourite_channel`, `favourite_store`, `favourite_category`, `item_count`, `consent_email`, `consent_sms`, `consent_ads`, `lifecycle_stage`, `largest_order`, `distinct_categories`, `rfm_recency_days`, `rfm_frequency`, `rfm_monetary`, `r_score`, `f_score`, `m_score`,
  `r_score` * 100 + `f_score` * 10 + `m_score` AS `rfm_cell`,
  CASE WHEN `r_score` IN (4, 5) AND `f_score` IN (1, 2, 3, 4, 5) THEN 'Très récents' WHEN `r_score` IN (3) AND `f_score` IN (1, 2, 3, 4, 5) THEN 'Récents' WHEN `r_score` IN (1, 2) AND `f_score` IN (1, 2, 3, 4, 5) THEN 'Endormis' END AS `rfm_segment`
FROM scored;

-- swap in
CREATE OR REPLACE TABLE `metrics`.`metrics_customers` COPY `metrics__tl_work`.`metrics_customers__tl_build`;
DROP TABLE IF EXISTS `metrics__tl_work`.`metrics_customers__tl_build`;
