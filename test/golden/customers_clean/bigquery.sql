-- customers_clean (staging) for target bigquery (bigquery)
-- Built into `analytics__tl_work`.`customers_clean__tl_build`, then swapped in by an atomic replace.

DROP TABLE IF EXISTS `analytics__tl_work`.`customers_clean__tl_build`;

-- build
CREATE TABLE `analytics__tl_work`.`customers_clean__tl_build` AS
SELECT `customer_id`, `email`, `phone_digits`, `first_name`, `country`, `email_sha256`, `created_at`
FROM (
  SELECT projected.*, ROW_NUMBER() OVER (PARTITION BY `email` ORDER BY `created_at` DESC NULLS LAST, `customer_id` ASC NULLS LAST, `email` ASC NULLS LAST, `phone_digits` ASC NULLS LAST, `first_name` ASC NULLS LAST, `country` ASC NULLS LAST, `email_sha256` ASC NULLS LAST) AS `__tideline_rank`
  FROM (
    SELECT
      CAST(`id` AS STRING) AS `customer_id`,
      NULLIF(LOWER(TRIM(CAST(`email` AS STRING))), '') AS `email`,
      NULLIF(REGEXP_REPLACE(CAST(`phone` AS STRING), '[^0-9]', ''), '') AS `phone_digits`,
      LOWER(REGEXP_REPLACE(TRIM(CAST(`first_name` AS STRING)), '[[:space:]]+', ' ')) AS `first_name`,
      UPPER(TRIM(CAST(`country` AS STRING))) AS `country`,
      TO_HEX(SHA256(LOWER(TRIM(CAST(`email` AS STRING))))) AS `email_sha256`,
      `created_at` AS `created_at`
    FROM `raw`.`customers` AS src
    WHERE (`status` NOT IN ('test', 'deleted') OR `status` IS NULL)
      AND `created_at` >= CAST('2023-01-01 00:00:00.000' AS TIMESTAMP)
  ) AS projected
) AS ranked
WHERE `__tideline_rank` = 1 OR `email` IS NULL;

-- swap in
CREATE OR REPLACE TABLE `analytics`.`customers_clean` COPY `analytics__tl_work`.`customers_clean__tl_build`;
DROP TABLE IF EXISTS `analytics__tl_work`.`customers_clean__tl_build`;
