-- people (identity) for target bigquery (bigquery)
-- Built into `idshop__tl_work`.`people__tl_build`, `idshop__tl_work`.`people__tl_map`, `idshop__tl_work`.`people__tl_links`, `idshop__tl_work`.`people__tl_report`, then swapped in by atomic replaces, the model last.

DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_build`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_map`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_links`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_report`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_prev`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_rows`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_records`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_values`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_keys`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_groups`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_edges`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_dropped`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_cut`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_capped_records`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_capped_labels`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph_next`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_labels`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_rounds`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_members`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_customers`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_fields`;

-- previous ids, when the previous build left `idshop`.`people_map` (the build fails if it lacks any of source, source_id, customer_id):
CREATE TABLE `idshop__tl_work`.`people__tl_prev` AS
SELECT CAST(`source` AS STRING) AS `source`, CAST(`source_id` AS STRING) AS `source_id`, CAST(`customer_id` AS STRING) AS `customer_id`
FROM `idshop`.`people_map`;

-- previous ids, on the first build or a full refresh:
CREATE TABLE `idshop__tl_work`.`people__tl_prev` AS
SELECT CAST(NULL AS STRING) AS `source`, CAST(NULL AS STRING) AS `source_id`, CAST(NULL AS STRING) AS `customer_id` LIMIT 0;

-- read every source once
CREATE TABLE `idshop__tl_work`.`people__tl_rows` AS
SELECT
  CASE WHEN `u`.`source_id` IS NULL THEN NULL ELSE DENSE_RANK() OVER (ORDER BY `u`.`source`, `u`.`source_id`) END AS `rec`,
  u.*
FROM (
  SELECT
    CAST('eshop' AS STRING) AS `source`,
    CAST(`src`.`account_id` AS STRING) AS `source_id`,
    CAST(`src`.`updated_at` AS TIMESTAMP) AS `updated_at`,
    CAST(`src`.`created_at` AS TIMESTAMP) AS `created_at`,
    CAST(1 AS INT64) AS `priority`,
    CAST(`src`.`email` AS STRING) AS `s1`,
    CAST(`src`.`phone` AS STRING) AS `s2`,
    CAST(`src`.`first_name` AS STRING) AS `s3`,
    CAST(`src`.`last_name` AS STRING) AS `s4`,
    CAST(`src`.`birth_date` AS STRING) AS `s5`,
    CAST(`src`.`postcode` AS STRING) AS `s6`,
    CAST(`src`.`city` AS STRING) AS `s7`,
    CAST(NULL AS STRING) AS `s8`,
    CAST(NULL AS STRING) AS `s9`,
    CAST(NULL AS STRING) AS `s10`,
    CAST(NULL AS STRING) AS `s11`,
    CAST(NULL AS STRING) AS `s12`,
    CAST(NULL AS STRING) AS `s13`,
    CAST(NULL AS STRING) AS `s14`,
    CAST(NULL AS STRING) AS `s15`,
    CAST(NULL AS STRING) AS `s16`,
    CAST(NULL AS STRING) AS `s17`,
    CAST(NULL AS STRING) AS `s18`,
    CAST(NULL AS STRING) AS `s19`,
    CAST(NULL AS STRING) AS `s20`,
    CAST(NULL AS STRING) AS `s21`,
    CAST(NULL AS STRING) AS `s22`
  FROM `idshop_raw`.`eshop_accounts` AS src
  UNION ALL
  SELECT
    CAST('tills' AS STRING) AS `source`,
    CAST(`src`.`card_number` AS STRING) AS `source_id`,
    CAST(`src`.`sold_at` AS TIMESTAMP) AS `updated_at`,
    CAST(NULL AS TIMESTAMP) AS `created_at`,
    CAST(3 AS INT64) AS `priority`,
    CAST(NULL AS STRING) AS `s1`,
    CAST(NULL AS STRING) AS `s2`,
    CAST(NULL AS STRING) AS `s3`,
    CAST(NULL AS STRING) AS `s4`,
    CAST(NULL AS STRING) AS `s5`,
    CAST(NULL AS STRING) AS `s6`,
    CAST(NULL AS STRING) AS `s7`,
    CAST(`src`.`card_number` AS STRING) AS `s8`,
    CAST(`src`.`phone` AS STRING) AS `s9`,
    CAST(`src`.`last_name` AS STRING) AS `s10`,
    CAST(`src`.`first_name` AS STRING) AS `s11`,
    CAST(`src`.`postcode` AS STRING) AS `s12`,
    CAST(NULL AS STRING) AS `s13`,
    CAST(NULL AS STRING) AS `s14`,
    CAST(NULL AS STRING) AS `s15`,
    CAST(NULL AS STRING) AS `s16`,
    CAST(NULL AS STRING) AS `s17`,
    CAST(NULL AS STRING) AS `s18`,
    CAST(NULL AS STRING) AS `s19`,
    CAST(NULL AS STRING) AS `s20`,
    CAST(NULL AS STRING) AS `s21`,
    CAST(NULL AS STRING) AS `s22`
  FROM `idshop_raw`.`till_tickets` AS src
  UNION ALL
  SELECT
    CAST('crm' AS STRING) AS `source`,
    CAST(`src`.`contact_id` AS STRING) AS `source_id`,
    CAST(`src`.`updated_at` AS TIMESTAMP) AS `updated_at`,
    CAST(NULL AS TIMESTAMP) AS `created_at`,
    CAST(2 AS INT64) AS `priority`,
    CAST(NULL AS STRING) AS `s1`,
    CAST(NULL AS STRING) AS `s2`,
    CAST(NULL AS STRING) AS `s3`,
    CAST(NULL AS STRING) AS `s4`,
    CAST(NULL AS STRING) AS `s5`,
    CAST(NULL AS STRING) AS `s6`,
    CAST(NULL AS STRING) AS `s7`,
    CAST(NULL AS STRING) AS `s8`,
    CAST(NULL AS STRING) AS `s9`,
    CAST(NULL AS STRING) AS `s10`,
    CAST(NULL AS STRING) AS `s11`,
    CAST(NULL AS STRING) AS `s12`,
    CAST(`src`.`email` AS STRING) AS `s13`,
    CAST(`src`.`mobile` AS STRING) AS `s14`,
    CAST(`src`.`landline` AS STRING) AS `s15`,
    CAST(`src`.`first_name` AS STRING) AS `s16`,
    CAST((upper(surname)) AS STRING) AS `s17`,
    CAST(`src`.`birth_date` AS STRING) AS `s18`,
    CAST(`src`.`zip` AS STRING) AS `s19`,
    CAST(`src`.`card` AS STRING) AS `s20`,
    CAST(`src`.`town` AS STRING) AS `s21`,
    CAST(NULL AS STRING) AS `s22`
  FROM `idshop_raw`.`crm_contacts` AS src
  UNION ALL
  SELECT
    CAST('newsletter' AS STRING) AS `source`,
    CAST(`src`.`signup_id` AS STRING) AS `source_id`,
    CAST(`src`.`signed_up_at` AS TIMESTAMP) AS `updated_at`,
    CAST(`src`.`signed_up_at` AS TIMESTAMP) AS `created_at`,
    CAST(4 AS INT64) AS `priority`,
    CAST(NULL AS STRING) AS `s1`,
    CAST(NULL AS STRING) AS `s2`,
    CAST(NULL AS STRING) AS `s3`,
    CAST(NULL AS STRING) AS `s4`,
    CAST(NULL AS STRING) AS `s5`,
    CAST(NULL AS STRING) AS `s6`,
    CAST(NULL AS STRING) AS `s7`,
    CAST(NULL AS STRING) AS `s8`,
    CAST(NULL AS STRING) AS `s9`,
    CAST(NULL AS STRING) AS `s10`,
    CAST(NULL AS STRING) AS `s11`,
    CAST(NULL AS STRING) AS `s12`,
    CAST(NULL AS STRING) AS `s13`,
    CAST(NULL AS STRING) AS `s14`,
    CAST(NULL AS STRING) AS `s15`,
    CAST(NULL AS STRING) AS `s16`,
    CAST(NULL AS STRING) AS `s17`,
    CAST(NULL AS STRING) AS `s18`,
    CAST(NULL AS STRING) AS `s19`,
    CAST(NULL AS STRING) AS `s20`,
    CAST(NULL AS STRING) AS `s21`,
    CAST(`src`.`email` AS STRING) AS `s22`
  FROM `idshop_raw`.`newsletter` AS src
) AS u;

-- one record per source and id
CREATE TABLE `idshop__tl_work`.`people__tl_records` AS
SELECT
  `r`.`rec`,
  `r`.`source`,
  `r`.`source_id`,
  MAX(`r`.`updated_at`) AS `updated_at`,
  MIN(COALESCE(`r`.`created_at`, `r`.`updated_at`)) AS `first_seen`,
  MIN(`r`.`priority`) AS `priority`
FROM `idshop__tl_work`.`people__tl_rows` AS r
WHERE `r`.`rec` IS NOT NULL
GROUP BY `r`.`rec`, `r`.`source`, `r`.`source_id`;

-- normalised values
CREATE TABLE `idshop__tl_work`.`people__tl_values` AS
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN `x`.`value` IN (CASE WHEN REGEXP_CONTAINS(LOWER(REGEXP_REPLACE(CAST('test@test.com' AS STRING), '[[:space:]]', '')), '^[^@]+@[^@.][^@]*[.][^@.]{2,}$') AND NOT REGEXP_CONTAINS(LOWER(REGEXP_REPLACE(CAST('test@test.com' AS STRING), '[[:space:]]', '')), '[.][.]') THEN LOWER(REGEXP_REPLACE(CAST('test@test.com' AS STRING), '[[:space:]]', '')) END) THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('email' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[^@]+@[^@.][^@]*[.][^@.]{2,}$') AND NOT REGEXP_CONTAINS(`v`, '[.][.]') THEN `v` END AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, LOWER(REGEXP_REPLACE(`v`, '[[:space:]]', '')) AS `v`
      FROM (
        SELECT `rec`, `s1` AS `raw`, `s1` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s1` IS NOT NULL
        UNION ALL
        SELECT `rec`, `s13` AS `raw`, `s13` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s13` IS NOT NULL
        UNION ALL
        SELECT `rec`, `s22` AS `raw`, `s22` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s22` IS NOT NULL
      ) AS `n1`
    ) AS `n2`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('phone' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[+][1-9][0-9]{6,14}$') THEN `v` END AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, CASE WHEN `v` LIKE '+330%' AND LENGTH(`v`) BETWEEN 13 AND 13 THEN '+33' || SUBSTR(`v`, 5, LENGTH(`v`)) ELSE `v` END AS `v`
      FROM (
        SELECT DISTINCT `rec`, `raw`, CASE
          WHEN `v` LIKE '+%' THEN '+' || REGEXP_REPLACE(`v`, '[^0-9]', '')
          WHEN `v` LIKE '00%' THEN '+' || SUBSTR(`v`, 3, LENGTH(`v`))
          WHEN `v` LIKE '0%' AND LENGTH(`v`) BETWEEN 10 AND 10 THEN '+33' || SUBSTR(`v`, 2, LENGTH(`v`))
          WHEN `v` NOT LIKE '0%' AND LENGTH(`v`) BETWEEN 9 AND 9 THEN '+33' || `v`
          WHEN `v` LIKE '33%' AND LENGTH(`v`) BETWEEN 11 AND 11 THEN '+' || `v`
        END AS `v`
        FROM (
          SELECT DISTINCT `rec`, `raw`, REGEXP_REPLACE(REGEXP_REPLACE(`v`, '[(]0[)]', ''), '[^0-9+]', '') AS `v`
          FROM (
            SELECT `rec`, `s2` AS `raw`, `s2` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s2` IS NOT NULL
            UNION ALL
            SELECT `rec`, `s9` AS `raw`, `s9` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s9` IS NOT NULL
            UNION ALL
            SELECT `rec`, `s15` AS `raw`, `s15` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s15` IS NOT NULL
          ) AS `n1`
        ) AS `n2`
      ) AS `n3`
    ) AS `n4`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('first_name' AS STRING) AS `field`, `v` AS `value`, NULLIF(TRIM(REGEXP_REPLACE(`raw`, '[[:space:]]+', ' ')), '') AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, NULLIF(TRIM(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(`v`, '[\'’‘`´]', ''), '[-_.,;:/\\\\()"&+*!?#@]', ' '), '[[:space:]]+', ' ')), '') AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '[^ -~]') THEN LOWER(REGEXP_REPLACE(NORMALIZE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(LOWER(`v`), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[øØ]', 'o'), '[łŁ]', 'l'), '[đĐð]', 'd'), 'þ', 'th'), 'ı', 'i'), NFD), r'\pM', '')) ELSE LOWER(`v`) END AS `v`
      FROM (
        SELECT `rec`, `s3` AS `raw`, `s3` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s3` IS NOT NULL
        UNION ALL
        SELECT `rec`, `s11` AS `raw`, `s11` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s11` IS NOT NULL
        UNION ALL
        SELECT `rec`, `s16` AS `raw`, `s16` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s16` IS NOT NULL
      ) AS `n1`
    ) AS `n2`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('last_name' AS STRING) AS `field`, `v` AS `value`, NULLIF(TRIM(REGEXP_REPLACE(`raw`, '[[:space:]]+', ' ')), '') AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, NULLIF(TRIM(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(`v`, '[\'’‘`´]', ''), '[-_.,;:/\\\\()"&+*!?#@]', ' '), '[[:space:]]+', ' ')), '') AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '[^ -~]') THEN LOWER(REGEXP_REPLACE(NORMALIZE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(LOWER(`v`), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[øØ]', 'o'), '[łŁ]', 'l'), '[đĐð]', 'd'), 'þ', 'th'), 'ı', 'i'), NFD), r'\pM', '')) ELSE LOWER(`v`) END AS `v`
      FROM (
        SELECT `rec`, `s4` AS `raw`, `s4` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s4` IS NOT NULL
        UNION ALL
        SELECT `rec`, `s10` AS `raw`, `s10` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s10` IS NOT NULL
        UNION ALL
        SELECT `rec`, `s17` AS `raw`, `s17` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s17` IS NOT NULL
      ) AS `n1`
    ) AS `n2`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('birth_date' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$') AND SUBSTR(`v`, 1, 4) <> '0000' THEN CASE WHEN SUBSTR(`v`, 6, 2) IN ('01', '03', '05', '07', '08', '10', '12')
        OR (SUBSTR(`v`, 6, 2) IN ('04', '06', '09', '11') AND SUBSTR(`v`, 9, 2) <> '31')
        OR (SUBSTR(`v`, 6, 2) = '02' AND (SUBSTR(`v`, 9, 2) <= '28' OR (SUBSTR(`v`, 9, 2) = '29' AND MOD(CAST(SUBSTR(`v`, 1, 4) AS INT64), 4) = 0 AND (MOD(CAST(SUBSTR(`v`, 1, 4) AS INT64), 100) <> 0 OR MOD(CAST(SUBSTR(`v`, 1, 4) AS INT64), 400) = 0)))) THEN `v` END END AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') THEN `v` ELSE REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(`v`, '^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$', '\\1-\\2-\\3'), '^([0-9]{4})([0-9]{2})([0-9]{2})$', '\\1-\\2-\\3'), '^([0-9]{4})-([0-9])-', '\\1-0\\2-'), '-([0-9])$', '-0\\1') END AS `v`
      FROM (
        SELECT DISTINCT `rec`, `raw`, CASE WHEN LENGTH(`v`) > 10 THEN REGEXP_REPLACE(TRIM(`v`), '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[ T].*$', '\\1') ELSE TRIM(`v`) END AS `v`
        FROM (
          SELECT `rec`, `s5` AS `raw`, `s5` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s5` IS NOT NULL
        ) AS `n1`
      ) AS `n2`
    ) AS `n3`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('postcode' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, NULLIF(UPPER(REGEXP_REPLACE(`v`, '[[:space:]]', '')), '') AS `v`
    FROM (
      SELECT `rec`, `s6` AS `raw`, `s6` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s6` IS NOT NULL
      UNION ALL
      SELECT `rec`, `s12` AS `raw`, `s12` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s12` IS NOT NULL
      UNION ALL
      SELECT `rec`, `s19` AS `raw`, `s19` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s19` IS NOT NULL
    ) AS `n1`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('city' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT `rec`, `s7` AS `raw`, `s7` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s7` IS NOT NULL
    UNION ALL
    SELECT `rec`, `s21` AS `raw`, `s21` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s21` IS NOT NULL
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('loyalty_card' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, NULLIF(UPPER(REGEXP_REPLACE(`v`, '[^0-9A-Za-z]', '')), '') AS `v`
    FROM (
      SELECT `rec`, `s8` AS `raw`, `s8` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s8` IS NOT NULL
      UNION ALL
      SELECT `rec`, `s20` AS `raw`, `s20` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s20` IS NOT NULL
    ) AS `n1`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('phone' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[+][1-9][0-9]{6,14}$') THEN `v` END AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, CASE WHEN `v` LIKE '+440%' AND LENGTH(`v`) BETWEEN 13 AND 14 THEN '+44' || SUBSTR(`v`, 5, LENGTH(`v`)) ELSE `v` END AS `v`
      FROM (
        SELECT DISTINCT `rec`, `raw`, CASE
          WHEN `v` LIKE '+%' THEN '+' || REGEXP_REPLACE(`v`, '[^0-9]', '')
          WHEN `v` LIKE '00%' THEN '+' || SUBSTR(`v`, 3, LENGTH(`v`))
          WHEN `v` LIKE '0%' AND LENGTH(`v`) BETWEEN 10 AND 11 THEN '+44' || SUBSTR(`v`, 2, LENGTH(`v`))
          WHEN `v` NOT LIKE '0%' AND LENGTH(`v`) BETWEEN 9 AND 10 THEN '+44' || `v`
          WHEN `v` LIKE '44%' AND LENGTH(`v`) BETWEEN 11 AND 12 THEN '+' || `v`
        END AS `v`
        FROM (
          SELECT DISTINCT `rec`, `raw`, REGEXP_REPLACE(REGEXP_REPLACE(`v`, '[(]0[)]', ''), '[^0-9+]', '') AS `v`
          FROM (
            SELECT `rec`, `s14` AS `raw`, `s14` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s14` IS NOT NULL
          ) AS `n1`
        ) AS `n2`
      ) AS `n3`
    ) AS `n4`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- more normalised values
INSERT INTO `idshop__tl_work`.`people__tl_values`
SELECT `x`.`rec`, `x`.`field`, `x`.`value`, `x`.`display`, CASE WHEN FALSE THEN TRUE ELSE FALSE END AS `junk`
FROM (
  SELECT `rec`, CAST('birth_date' AS STRING) AS `field`, `v` AS `value`, `v` AS `display`
  FROM (
    SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$') AND SUBSTR(`v`, 1, 4) <> '0000' THEN CASE WHEN SUBSTR(`v`, 6, 2) IN ('01', '03', '05', '07', '08', '10', '12')
        OR (SUBSTR(`v`, 6, 2) IN ('04', '06', '09', '11') AND SUBSTR(`v`, 9, 2) <> '31')
        OR (SUBSTR(`v`, 6, 2) = '02' AND (SUBSTR(`v`, 9, 2) <= '28' OR (SUBSTR(`v`, 9, 2) = '29' AND MOD(CAST(SUBSTR(`v`, 1, 4) AS INT64), 4) = 0 AND (MOD(CAST(SUBSTR(`v`, 1, 4) AS INT64), 100) <> 0 OR MOD(CAST(SUBSTR(`v`, 1, 4) AS INT64), 400) = 0)))) THEN `v` END END AS `v`
    FROM (
      SELECT DISTINCT `rec`, `raw`, CASE WHEN REGEXP_CONTAINS(`v`, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') THEN `v` ELSE REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(REGEXP_REPLACE(`v`, '^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$', '\\1-\\2-\\3'), '^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})$', '\\3-\\2-\\1'), '^([0-9]{2})([0-9]{2})([0-9]{4})$', '\\3-\\2-\\1'), '^([0-9]{4})-([0-9])-', '\\1-0\\2-'), '-([0-9])$', '-0\\1') END AS `v`
      FROM (
        SELECT DISTINCT `rec`, `raw`, CASE WHEN LENGTH(`v`) > 10 THEN REGEXP_REPLACE(TRIM(`v`), '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[ T].*$', '\\1') ELSE TRIM(`v`) END AS `v`
        FROM (
          SELECT `rec`, `s18` AS `raw`, `s18` AS `v` FROM `idshop__tl_work`.`people__tl_rows` WHERE `rec` IS NOT NULL AND `s18` IS NOT NULL
        ) AS `n1`
      ) AS `n2`
    ) AS `n3`
  ) AS n0
) AS x
WHERE `x`.`value` IS NOT NULL;

-- rule keys
CREATE TABLE `idshop__tl_work`.`people__tl_keys` AS
SELECT DISTINCT *
FROM (
  SELECT CAST('same_email' AS STRING) AS `rule`, `p1`.`rec`, `p1`.`value` AS `k1`, CAST('' AS STRING) AS `k2`, CAST('' AS STRING) AS `k3`
  FROM `idshop__tl_work`.`people__tl_values` AS `p1`
  WHERE `p1`.`field` = 'email' AND NOT `p1`.`junk`
  UNION ALL
  SELECT CAST('same_phone' AS STRING) AS `rule`, `p1`.`rec`, `p1`.`value` AS `k1`, CAST('' AS STRING) AS `k2`, CAST('' AS STRING) AS `k3`
  FROM `idshop__tl_work`.`people__tl_values` AS `p1`
  WHERE `p1`.`field` = 'phone' AND NOT `p1`.`junk`
  UNION ALL
  SELECT CAST('same_card' AS STRING) AS `rule`, `p1`.`rec`, `p1`.`value` AS `k1`, CAST('' AS STRING) AS `k2`, CAST('' AS STRING) AS `k3`
  FROM `idshop__tl_work`.`people__tl_values` AS `p1`
  WHERE `p1`.`field` = 'loyalty_card' AND NOT `p1`.`junk`
  UNION ALL
  SELECT CAST('name_birth_date' AS STRING) AS `rule`, `p1`.`rec`, `p1`.`value` AS `k1`, `p2`.`value` AS `k2`, `p3`.`value` AS `k3`
  FROM `idshop__tl_work`.`people__tl_values` AS `p1`
  JOIN `idshop__tl_work`.`people__tl_values` AS `p2` ON `p2`.`rec` = `p1`.`rec` AND `p2`.`field` = 'first_name' AND NOT `p2`.`junk`
  JOIN `idshop__tl_work`.`people__tl_values` AS `p3` ON `p3`.`rec` = `p1`.`rec` AND `p3`.`field` = 'birth_date' AND NOT `p3`.`junk`
  WHERE `p1`.`field` = 'last_name' AND NOT `p1`.`junk`
  UNION ALL
  SELECT CAST('name_postcode_initial' AS STRING) AS `rule`, `p1`.`rec`, `p1`.`value` AS `k1`, `p2`.`value` AS `k2`, SUBSTR(`p3`.`value`, 1, 1) AS `k3`
  FROM `idshop__tl_work`.`people__tl_values` AS `p1`
  JOIN `idshop__tl_work`.`people__tl_values` AS `p2` ON `p2`.`rec` = `p1`.`rec` AND `p2`.`field` = 'postcode' AND NOT `p2`.`junk`
  JOIN `idshop__tl_work`.`people__tl_values` AS `p3` ON `p3`.`rec` = `p1`.`rec` AND `p3`.`field` = 'first_name' AND NOT `p3`.`junk`
  WHERE `p1`.`field` = 'last_name' AND NOT `p1`.`junk`
  UNION ALL
  SELECT CAST('similar_first_name' AS STRING) AS `rule`, `p1`.`rec`, `p1`.`value` AS `k1`, `p2`.`value` AS `k2`, CAST('' AS STRING) AS `k3`
  FROM `idshop__tl_work`.`people__tl_values` AS `p1`
  JOIN `idshop__tl_work`.`people__tl_values` AS `p2` ON `p2`.`rec` = `p1`.`rec` AND `p2`.`field` = 'birth_date' AND NOT `p2`.`junk`
  WHERE `p1`.`field` = 'last_name' AND NOT `p1`.`junk`
) AS k;

-- records per key
CREATE TABLE `idshop__tl_work`.`people__tl_groups` AS
SELECT `rule`, `k1`, `k2`, `k3`, COUNT(*) AS `records`, MIN(`rec`) AS `root`
FROM `idshop__tl_work`.`people__tl_keys`
GROUP BY `rule`, `k1`, `k2`, `k3`;

-- links
CREATE TABLE `idshop__tl_work`.`people__tl_edges` AS
SELECT ROW_NUMBER() OVER (ORDER BY `e`.`rank`, `e`.`a`, `e`.`b`, `e`.`key`) AS `edge`, e.*
FROM (
  SELECT `k`.`rec` AS `a`, `g`.`root` AS `b`, CAST(1 AS INT64) AS `rank`, `k`.`rule`, `k`.`k1` AS `key`
  FROM `idshop__tl_work`.`people__tl_keys` AS k
  JOIN `idshop__tl_work`.`people__tl_groups` AS g ON `g`.`rule` = `k`.`rule` AND `g`.`k1` = `k`.`k1` AND `g`.`k2` = `k`.`k2` AND `g`.`k3` = `k`.`k3`
  WHERE `k`.`rule` = 'same_email' AND `g`.`records` <= 3 AND `k`.`rec` <> `g`.`root`
  UNION ALL
  SELECT `k`.`rec` AS `a`, `g`.`root` AS `b`, CAST(2 AS INT64) AS `rank`, `k`.`rule`, `k`.`k1` AS `key`
  FROM `idshop__tl_work`.`people__tl_keys` AS k
  JOIN `idshop__tl_work`.`people__tl_groups` AS g ON `g`.`rule` = `k`.`rule` AND `g`.`k1` = `k`.`k1` AND `g`.`k2` = `k`.`k2` AND `g`.`k3` = `k`.`k3`
  WHERE `k`.`rule` = 'same_phone' AND `g`.`records` <= 3 AND `k`.`rec` <> `g`.`root`
  UNION ALL
  SELECT `k`.`rec` AS `a`, `g`.`root` AS `b`, CAST(3 AS INT64) AS `rank`, `k`.`rule`, `k`.`k1` AS `key`
  FROM `idshop__tl_work`.`people__tl_keys` AS k
  JOIN `idshop__tl_work`.`people__tl_groups` AS g ON `g`.`rule` = `k`.`rule` AND `g`.`k1` = `k`.`k1` AND `g`.`k2` = `k`.`k2` AND `g`.`k3` = `k`.`k3`
  WHERE `k`.`rule` = 'same_card' AND `g`.`records` <= 3 AND `k`.`rec` <> `g`.`root`
  UNION ALL
  SELECT `k`.`rec` AS `a`, `g`.`root` AS `b`, CAST(4 AS INT64) AS `rank`, `k`.`rule`, `k`.`k1` || ' + ' || `k`.`k2` || ' + ' || `k`.`k3` AS `key`
  FROM `idshop__tl_work`.`people__tl_keys` AS k
  JOIN `idshop__tl_work`.`people__tl_groups` AS g ON `g`.`rule` = `k`.`rule` AND `g`.`k1` = `k`.`k1` AND `g`.`k2` = `k`.`k2` AND `g`.`k3` = `k`.`k3`
  WHERE `k`.`rule` = 'name_birth_date' AND `g`.`records` <= 3 AND `k`.`rec` <> `g`.`root`
  UNION ALL
  SELECT `k`.`rec` AS `a`, `g`.`root` AS `b`, CAST(5 AS INT64) AS `rank`, `k`.`rule`, `k`.`k1` || ' + ' || `k`.`k2` || ' + ' || `k`.`k3` AS `key`
  FROM `idshop__tl_work`.`people__tl_keys` AS k
  JOIN `idshop__tl_work`.`people__tl_groups` AS g ON `g`.`rule` = `k`.`rule` AND `g`.`k1` = `k`.`k1` AND `g`.`k2` = `k`.`k2` AND `g`.`k3` = `k`.`k3`
  WHERE `k`.`rule` = 'name_postcode_initial' AND `g`.`records` <= 3 AND `k`.`rec` <> `g`.`root`
  UNION ALL
  SELECT DISTINCT `x`.`rec` AS `a`, `y`.`rec` AS `b`, CAST(6 AS INT64) AS `rank`, `x`.`rule`,
    `x`.`k1` || ' + ' || `x`.`k2` || ' ~ ' || `fx`.`value` || ' / ' || `fy`.`value` AS `key`
  FROM `idshop__tl_work`.`people__tl_keys` AS x
  JOIN `idshop__tl_work`.`people__tl_keys` AS y ON `y`.`rule` = `x`.`rule` AND `y`.`k1` = `x`.`k1` AND `y`.`k2` = `x`.`k2` AND `y`.`k3` = `x`.`k3` AND `y`.`rec` > `x`.`rec`
  JOIN `idshop__tl_work`.`people__tl_groups` AS g ON `g`.`rule` = `x`.`rule` AND `g`.`k1` = `x`.`k1` AND `g`.`k2` = `x`.`k2` AND `g`.`k3` = `x`.`k3`
  JOIN `idshop__tl_work`.`people__tl_values` AS fx ON `fx`.`rec` = `x`.`rec` AND `fx`.`field` = 'first_name' AND NOT `fx`.`junk`
  JOIN `idshop__tl_work`.`people__tl_values` AS fy ON `fy`.`rec` = `y`.`rec` AND `fy`.`field` = 'first_name' AND NOT `fy`.`junk`
  WHERE `x`.`rule` = 'similar_first_name' AND `g`.`records` <= 3 AND EDIT_DISTANCE(`fx`.`value`, `fy`.`value`) <= 1
) AS e;

-- round counter
CREATE TABLE `idshop__tl_work`.`people__tl_rounds` AS
SELECT CAST(NULL AS STRING) AS `phase` LIMIT 0;

-- no link set aside yet
CREATE TABLE `idshop__tl_work`.`people__tl_dropped` AS
SELECT CAST(NULL AS INT64) AS `edge` LIMIT 0;

-- drop graph
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph`;

-- graph
CREATE TABLE `idshop__tl_work`.`people__tl_graph` AS
SELECT DISTINCT GREATEST(`e`.`a`, `e`.`b`) AS `u`, LEAST(`e`.`a`, `e`.`b`) AS `v`
FROM (SELECT * FROM `idshop__tl_work`.`people__tl_edges` AS x WHERE NOT EXISTS (SELECT 1 FROM `idshop__tl_work`.`people__tl_dropped` AS y WHERE `y`.`edge` = `x`.`edge`)) AS e
WHERE `e`.`a` <> `e`.`b`;

-- repeat "components" (at most 100 rounds) until this returns 0:
--   SELECT
--     (SELECT COUNT(*) FROM `idshop__tl_work`.`people__tl_graph` AS e WHERE `e`.`v` IN (SELECT `u` FROM `idshop__tl_work`.`people__tl_graph`))
--     + (SELECT COUNT(*) FROM `idshop__tl_work`.`people__tl_graph`)
--     - (SELECT COUNT(DISTINCT `u`) FROM `idshop__tl_work`.`people__tl_graph`) AS `unsettled`

  -- large-star
  CREATE TABLE `idshop__tl_work`.`people__tl_graph_next` AS
  SELECT DISTINCT `e`.`u`, COALESCE(`m`.`m`, `e`.`v`) AS `v`
  FROM `idshop__tl_work`.`people__tl_graph` AS e
  LEFT JOIN (SELECT `u`, MIN(`v`) AS `m` FROM `idshop__tl_work`.`people__tl_graph` GROUP BY `u`) AS m ON `m`.`u` = `e`.`v`;

  -- drop previous graph
  DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph`;

  -- small-star
  CREATE TABLE `idshop__tl_work`.`people__tl_graph` AS
  SELECT DISTINCT `s`.`u`, `s`.`v`
  FROM (
    SELECT `e`.`v` AS `u`, `m`.`m` AS `v`
    FROM `idshop__tl_work`.`people__tl_graph_next` AS e
    JOIN (SELECT `u`, MIN(`v`) AS `m` FROM `idshop__tl_work`.`people__tl_graph_next` GROUP BY `u`) AS m ON `m`.`u` = `e`.`u`
    WHERE `e`.`v` <> `m`.`m`
    UNION ALL
    SELECT `u`, MIN(`v`) AS `m` FROM `idshop__tl_work`.`people__tl_graph_next` GROUP BY `u`
  ) AS s;

  -- drop half-round graph
  DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph_next`;

  -- count the round
  INSERT INTO `idshop__tl_work`.`people__tl_rounds` (`phase`) VALUES ('components');

-- end repeat "components"

-- drop labels
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_labels`;

-- labels
CREATE TABLE `idshop__tl_work`.`people__tl_labels` AS
SELECT `r`.`rec`, COALESCE(`g`.`v`, `r`.`rec`) AS `comp`
FROM `idshop__tl_work`.`people__tl_records` AS r
LEFT JOIN `idshop__tl_work`.`people__tl_graph` AS g ON `g`.`u` = `r`.`rec`;

-- repeat "caps" (at most 7 rounds) until this returns 0:
--   SELECT COUNT(*) AS `set_aside` FROM `idshop__tl_work`.`people__tl_cut`

  -- drop previous cut
  DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_cut`;

  -- weakest links of customers over a cap
  CREATE TABLE `idshop__tl_work`.`people__tl_cut` AS
  WITH capped AS (
    SELECT `l`.`comp`
    FROM `idshop__tl_work`.`people__tl_labels` AS l
    JOIN `idshop__tl_work`.`people__tl_values` AS v ON `v`.`rec` = `l`.`rec`
    WHERE `v`.`field` = 'email' AND NOT `v`.`junk`
    GROUP BY `l`.`comp`
    HAVING COUNT(DISTINCT `v`.`value`) > 2
  ), linked AS (
    SELECT `e`.`edge`, `e`.`rank`, `l`.`comp`
    FROM (SELECT * FROM `idshop__tl_work`.`people__tl_edges` AS x WHERE NOT EXISTS (SELECT 1 FROM `idshop__tl_work`.`people__tl_dropped` AS y WHERE `y`.`edge` = `x`.`edge`)) AS e
    JOIN `idshop__tl_work`.`people__tl_labels` AS l ON `l`.`rec` = `e`.`a`
  ), weakest AS (
    SELECT `a`.`comp`, MAX(`a`.`rank`) AS `rank`
    FROM linked AS a
    WHERE `a`.`comp` IN (SELECT `comp` FROM capped)
    GROUP BY `a`.`comp`
    HAVING MAX(`a`.`rank`) > MIN(`a`.`rank`)
  )
  SELECT `a`.`edge`, `a`.`comp`
  FROM linked AS a
  JOIN weakest AS w ON `w`.`comp` = `a`.`comp` AND `w`.`rank` = `a`.`rank`;

  -- set them aside
  INSERT INTO `idshop__tl_work`.`people__tl_dropped` (`edge`) SELECT `edge` FROM `idshop__tl_work`.`people__tl_cut`;

  -- drop previous records of capped customers
  DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_capped_records`;

  -- records of the customers cut
  CREATE TABLE `idshop__tl_work`.`people__tl_capped_records` AS
  SELECT `l`.`rec`
  FROM `idshop__tl_work`.`people__tl_labels` AS l
  WHERE `l`.`comp` IN (SELECT `comp` FROM `idshop__tl_work`.`people__tl_cut`);

  -- drop graph
  DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph`;

  -- graph
  CREATE TABLE `idshop__tl_work`.`people__tl_graph` AS
  SELECT DISTINCT GREATEST(`e`.`a`, `e`.`b`) AS `u`, LEAST(`e`.`a`, `e`.`b`) AS `v`
  FROM (SELECT `x`.`a`, `x`.`b`
  FROM (SELECT * FROM `idshop__tl_work`.`people__tl_edges` AS x WHERE NOT EXISTS (SELECT 1 FROM `idshop__tl_work`.`people__tl_dropped` AS y WHERE `y`.`edge` = `x`.`edge`)) AS x
  WHERE `x`.`a` IN (SELECT `rec` FROM `idshop__tl_work`.`people__tl_capped_records`)) AS e
  WHERE `e`.`a` <> `e`.`b`;

  -- repeat "components" (at most 100 rounds) until this returns 0:
  --   SELECT
  --     (SELECT COUNT(*) FROM `idshop__tl_work`.`people__tl_graph` AS e WHERE `e`.`v` IN (SELECT `u` FROM `idshop__tl_work`.`people__tl_graph`))
  --     + (SELECT COUNT(*) FROM `idshop__tl_work`.`people__tl_graph`)
  --     - (SELECT COUNT(DISTINCT `u`) FROM `idshop__tl_work`.`people__tl_graph`) AS `unsettled`

    -- large-star
    CREATE TABLE `idshop__tl_work`.`people__tl_graph_next` AS
    SELECT DISTINCT `e`.`u`, COALESCE(`m`.`m`, `e`.`v`) AS `v`
    FROM `idshop__tl_work`.`people__tl_graph` AS e
    LEFT JOIN (SELECT `u`, MIN(`v`) AS `m` FROM `idshop__tl_work`.`people__tl_graph` GROUP BY `u`) AS m ON `m`.`u` = `e`.`v`;

    -- drop previous graph
    DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph`;

    -- small-star
    CREATE TABLE `idshop__tl_work`.`people__tl_graph` AS
    SELECT DISTINCT `s`.`u`, `s`.`v`
    FROM (
      SELECT `e`.`v` AS `u`, `m`.`m` AS `v`
      FROM `idshop__tl_work`.`people__tl_graph_next` AS e
      JOIN (SELECT `u`, MIN(`v`) AS `m` FROM `idshop__tl_work`.`people__tl_graph_next` GROUP BY `u`) AS m ON `m`.`u` = `e`.`u`
      WHERE `e`.`v` <> `m`.`m`
      UNION ALL
      SELECT `u`, MIN(`v`) AS `m` FROM `idshop__tl_work`.`people__tl_graph_next` GROUP BY `u`
    ) AS s;

    -- drop half-round graph
    DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph_next`;

    -- count the round
    INSERT INTO `idshop__tl_work`.`people__tl_rounds` (`phase`) VALUES ('components');

  -- end repeat "components"

  -- drop labels
  DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_capped_labels`;

  -- labels
  CREATE TABLE `idshop__tl_work`.`people__tl_capped_labels` AS
  SELECT `r`.`rec`, COALESCE(`g`.`v`, `r`.`rec`) AS `comp`
  FROM `idshop__tl_work`.`people__tl_capped_records` AS r
  LEFT JOIN `idshop__tl_work`.`people__tl_graph` AS g ON `g`.`u` = `r`.`rec`;

  -- their components replace theirs
  DELETE FROM `idshop__tl_work`.`people__tl_labels` WHERE `rec` IN (SELECT `rec` FROM `idshop__tl_work`.`people__tl_capped_records`);

  -- their components
  INSERT INTO `idshop__tl_work`.`people__tl_labels` (`rec`, `comp`) SELECT `rec`, `comp` FROM `idshop__tl_work`.`people__tl_capped_labels`;

  -- count the round
  INSERT INTO `idshop__tl_work`.`people__tl_rounds` (`phase`) VALUES ('caps');

-- end repeat "caps"

-- records with their component and previous id
CREATE TABLE `idshop__tl_work`.`people__tl_members` AS
SELECT `r`.`rec`, `l`.`comp`, `r`.`source`, `r`.`source_id`, `p`.`customer_id` AS `old_id`,
  ROW_NUMBER() OVER (ORDER BY `r`.`first_seen` ASC NULLS LAST, `r`.`source`, `r`.`source_id`) AS `age`
FROM `idshop__tl_work`.`people__tl_records` AS r
JOIN `idshop__tl_work`.`people__tl_labels` AS l ON `l`.`rec` = `r`.`rec`
LEFT JOIN `idshop__tl_work`.`people__tl_prev` AS p ON `p`.`source` = `r`.`source` AND `p`.`source_id` = `r`.`source_id`;

-- customer ids
CREATE TABLE `idshop__tl_work`.`people__tl_customers` AS
WITH claims AS (
  SELECT `comp`, `old_id`, MIN(`age`) AS `oldest`
  FROM `idshop__tl_work`.`people__tl_members`
  WHERE `old_id` IS NOT NULL
  GROUP BY `comp`, `old_id`
), awarded AS (
  SELECT `comp`, `old_id`, `oldest`,
    ROW_NUMBER() OVER (PARTITION BY `old_id` ORDER BY `oldest` ASC) AS `pick`
  FROM claims
), chosen AS (
  SELECT `comp`, `old_id`, `oldest`,
    ROW_NUMBER() OVER (PARTITION BY `comp` ORDER BY `oldest` ASC) AS `pick`
  FROM awarded
  WHERE `pick` = 1
), keep_ids AS (
  SELECT `comp`, `old_id`, `oldest` FROM chosen WHERE `pick` = 1
), firsts AS (
  SELECT `comp`, MIN(`age`) AS `oldest`
  FROM `idshop__tl_work`.`people__tl_members`
  GROUP BY `comp`
), fresh AS (
  SELECT `s`.`comp`, `s`.`oldest`, `m`.`source` || ':' || `m`.`source_id` AS `anchor_key`
  FROM firsts AS s
  JOIN `idshop__tl_work`.`people__tl_members` AS m ON `m`.`age` = `s`.`oldest`
  WHERE NOT EXISTS (SELECT 1 FROM keep_ids AS k WHERE `k`.`comp` = `s`.`comp`)
), hashed AS (
  SELECT `f`.`comp`, `f`.`oldest`,
    SUBSTR(TO_HEX(MD5(`f`.`anchor_key`)), 1, 16) AS `h0`, SUBSTR(TO_HEX(MD5(`f`.`anchor_key` || '#1')), 1, 16) AS `h1`, SUBSTR(TO_HEX(MD5(`f`.`anchor_key` || '#' || CAST(`f`.`comp` AS STRING))), 1, 16) AS `h2`
  FROM fresh AS f
)
SELECT `comp`, `old_id` AS `customer_id`, `oldest` AS `anchor`, CAST('kept' AS STRING) AS `origin`
FROM keep_ids
UNION ALL
SELECT `h`.`comp`,
  CASE WHEN `t0`.`old_id` IS NULL THEN `h`.`h0` WHEN `t1`.`old_id` IS NULL THEN `h`.`h1` ELSE `h`.`h2` END,
  `h`.`oldest`, CAST('new' AS STRING)
FROM hashed AS h
LEFT JOIN keep_ids AS t0 ON `t0`.`old_id` = `h`.`h0`
LEFT JOIN keep_ids AS t1 ON `t1`.`old_id` = `h`.`h1`;

-- map
CREATE TABLE `idshop__tl_work`.`people__tl_map` AS
WITH ends AS (
  SELECT `e`.`a` AS `rec`, `e`.`rank`, `e`.`rule` FROM (SELECT * FROM `idshop__tl_work`.`people__tl_edges` AS x WHERE NOT EXISTS (SELECT 1 FROM `idshop__tl_work`.`people__tl_dropped` AS y WHERE `y`.`edge` = `x`.`edge`)) AS e
  UNION ALL
  SELECT `e`.`b`, `e`.`rank`, `e`.`rule` FROM (SELECT * FROM `idshop__tl_work`.`people__tl_edges` AS x WHERE NOT EXISTS (SELECT 1 FROM `idshop__tl_work`.`people__tl_dropped` AS y WHERE `y`.`edge` = `x`.`edge`)) AS e
), strongest AS (
  SELECT `rec`, `rule`
  FROM (
    SELECT `rec`, `rule`, ROW_NUMBER() OVER (PARTITION BY `rec` ORDER BY `rank`) AS `pick`
    FROM ends
  ) AS ranked
  WHERE `pick` = 1
)
SELECT `m`.`source`, `m`.`source_id`, `c`.`customer_id`, `s`.`rule`,
  `m`.`old_id` AS `previous_customer_id`,
  (`m`.`age` = `c`.`anchor`) AS `holds_id`
FROM `idshop__tl_work`.`people__tl_members` AS m
JOIN `idshop__tl_work`.`people__tl_customers` AS c ON `c`.`comp` = `m`.`comp`
LEFT JOIN strongest AS s ON `s`.`rec` = `m`.`rec`;

-- links kept for explain
CREATE TABLE `idshop__tl_work`.`people__tl_links` AS
SELECT `ca`.`customer_id`, `e`.`rule`, `e`.`rank`, `e`.`key` AS `matched_on`,
  `ma`.`source`, `ma`.`source_id`,
  `mb`.`source` AS `linked_source`, `mb`.`source_id` AS `linked_source_id`, `cb`.`customer_id` AS `linked_customer_id`,
  (`x`.`edge` IS NULL) AS `used`
FROM `idshop__tl_work`.`people__tl_edges` AS e
JOIN `idshop__tl_work`.`people__tl_members` AS ma ON `ma`.`rec` = `e`.`a`
JOIN `idshop__tl_work`.`people__tl_members` AS mb ON `mb`.`rec` = `e`.`b`
JOIN `idshop__tl_work`.`people__tl_customers` AS ca ON `ca`.`comp` = `ma`.`comp`
JOIN `idshop__tl_work`.`people__tl_customers` AS cb ON `cb`.`comp` = `mb`.`comp`
LEFT JOIN `idshop__tl_work`.`people__tl_dropped` AS x ON `x`.`edge` = `e`.`edge`;

-- candidate values of golden fields
CREATE TABLE `idshop__tl_work`.`people__tl_fields` AS
SELECT `m`.`comp`, `v`.`field`, `v`.`value`, `v`.`display`, `r`.`updated_at`, `r`.`priority`
FROM `idshop__tl_work`.`people__tl_values` AS v
JOIN `idshop__tl_work`.`people__tl_members` AS m ON `m`.`rec` = `v`.`rec`
JOIN `idshop__tl_work`.`people__tl_records` AS r ON `r`.`rec` = `v`.`rec`
WHERE NOT `v`.`junk` AND `v`.`field` IN ('email', 'phone', 'first_name', 'last_name', 'birth_date', 'postcode', 'city');

-- golden record
CREATE TABLE `idshop__tl_work`.`people__tl_build` AS
WITH winners AS (
  SELECT `comp`, `rule`, `field`, `display`
  FROM (
    SELECT `f`.`comp`, CAST('most_recent' AS STRING) AS `rule`, `f`.`field`, `f`.`display`,
      ROW_NUMBER() OVER (PARTITION BY `f`.`comp`, `f`.`field` ORDER BY `f`.`updated_at` DESC NULLS LAST, `f`.`priority` ASC, `f`.`value` ASC, `f`.`display` ASC) AS `pick`
    FROM `idshop__tl_work`.`people__tl_fields` AS f
    WHERE `f`.`field` IN ('email')
  ) AS ranked
  WHERE `pick` = 1
  UNION ALL
  SELECT `comp`, `rule`, `field`, `display`
  FROM (
    SELECT `f`.`comp`, CAST('most_frequent' AS STRING) AS `rule`, `f`.`field`, `f`.`display`,
      ROW_NUMBER() OVER (PARTITION BY `f`.`comp`, `f`.`field` ORDER BY `f`.`frequency` DESC, `f`.`updated_at` DESC NULLS LAST, `f`.`priority` ASC, `f`.`value` ASC, `f`.`display` ASC) AS `pick`
    FROM (
      SELECT `x`.`comp`, `x`.`field`, `x`.`value`, `x`.`display`, `x`.`updated_at`, `x`.`priority`,
        COUNT(*) OVER (PARTITION BY `x`.`comp`, `x`.`field`, `x`.`value`) AS `frequency`
      FROM `idshop__tl_work`.`people__tl_fields` AS x
      WHERE `x`.`field` IN ('phone', 'birth_date')
    ) AS f
  ) AS ranked
  WHERE `pick` = 1
  UNION ALL
  SELECT `comp`, `rule`, `field`, `display`
  FROM (
    SELECT `f`.`comp`, CAST('source_priority' AS STRING) AS `rule`, `f`.`field`, `f`.`display`,
      ROW_NUMBER() OVER (PARTITION BY `f`.`comp`, `f`.`field` ORDER BY `f`.`priority` ASC, `f`.`updated_at` DESC NULLS LAST, `f`.`value` ASC, `f`.`display` ASC) AS `pick`
    FROM `idshop__tl_work`.`people__tl_fields` AS f
    WHERE `f`.`field` IN ('first_name', 'last_name', 'postcode')
  ) AS ranked
  WHERE `pick` = 1
  UNION ALL
  SELECT `comp`, `rule`, `field`, `display`
  FROM (
    SELECT `f`.`comp`, CAST('longest' AS STRING) AS `rule`, `f`.`field`, `f`.`display`,
      ROW_NUMBER() OVER (PARTITION BY `f`.`comp`, `f`.`field` ORDER BY LENGTH(`f`.`display`) DESC, `f`.`updated_at` DESC NULLS LAST, `f`.`priority` ASC, `f`.`value` ASC, `f`.`display` ASC) AS `pick`
    FROM `idshop__tl_work`.`people__tl_fields` AS f
    WHERE `f`.`field` IN ('city')
  ) AS ranked
  WHERE `pick` = 1
), picked AS (
  SELECT `w`.`comp` AS `customer_id`,
    MAX(CASE WHEN `w`.`rule` = 'most_recent' AND `w`.`field` = 'email' THEN `w`.`display` END) AS `email`,
    MAX(CASE WHEN `w`.`rule` = 'most_frequent' AND `w`.`field` = 'phone' THEN `w`.`display` END) AS `phone`,
    MAX(CASE WHEN `w`.`rule` = 'source_priority' AND `w`.`field` = 'first_name' THEN `w`.`display` END) AS `first_name`,
    MAX(CASE WHEN `w`.`rule` = 'source_priority' AND `w`.`field` = 'last_name' THEN `w`.`display` END) AS `last_name`,
    CAST(MAX(CASE WHEN `w`.`rule` = 'most_frequent' AND `w`.`field` = 'birth_date' THEN `w`.`display` END) AS DATE) AS `birth_date`,
    MAX(CASE WHEN `w`.`rule` = 'source_priority' AND `w`.`field` = 'postcode' THEN `w`.`display` END) AS `postcode`,
    MAX(CASE WHEN `w`.`rule` = 'longest' AND `w`.`field` = 'city' THEN `w`.`display` END) AS `city`
  FROM winners AS w
  GROUP BY `w`.`comp`
), summary AS (
  SELECT `m`.`comp`, COUNT(*) AS `records`,
    STRING_AGG(DISTINCT `m`.`source`, ', ' ORDER BY `m`.`source`) AS `sources`,
    STRING_AGG(`m`.`source` || ':' || `m`.`source_id`, ', ' ORDER BY `m`.`source`, `m`.`source_id`) AS `source_ids`,
    MIN(`r`.`first_seen`) AS `first_seen`,
    MAX(`r`.`updated_at`) AS `last_seen`
  FROM `idshop__tl_work`.`people__tl_members` AS m
  JOIN `idshop__tl_work`.`people__tl_records` AS r ON `r`.`rec` = `m`.`rec`
  GROUP BY `m`.`comp`
)
SELECT
  `c`.`customer_id`,
  `p`.`email`,
  `p`.`phone`,
  `p`.`first_name`,
  `p`.`last_name`,
  `p`.`birth_date`,
  `p`.`postcode`,
  `p`.`city`,
  `s`.`records`,
  `s`.`sources`,
  `s`.`source_ids`,
  `s`.`first_seen`,
  `s`.`last_seen`
FROM summary AS s
JOIN `idshop__tl_work`.`people__tl_customers` AS c ON `c`.`comp` = `s`.`comp`
LEFT JOIN picked AS p ON `p`.`customer_id` = `s`.`comp`;

-- report
CREATE TABLE `idshop__tl_work`.`people__tl_report` AS
SELECT * FROM (
  SELECT CAST('rows_in' AS STRING) AS `metric`, `source` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_rows`
  GROUP BY `source`
  UNION ALL
  SELECT CAST('rows_without_id' AS STRING) AS `metric`, `source` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_rows`
  WHERE `rec` IS NULL
  GROUP BY `source`
  UNION ALL
  SELECT CAST('records_in' AS STRING) AS `metric`, `source` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_records`
  GROUP BY `source`
  UNION ALL
  SELECT CAST('customers_out' AS STRING) AS `metric`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_customers`
  UNION ALL
  SELECT CAST('records_linked' AS STRING) AS `metric`, `rule` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_map`
  WHERE `rule` IS NOT NULL
  GROUP BY `rule`
  UNION ALL
  SELECT CAST('links' AS STRING) AS `metric`, `rule` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_links`
  WHERE `used`
  GROUP BY `rule`
  UNION ALL
  SELECT CAST('links_set_aside' AS STRING) AS `metric`, `rule` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_links`
  WHERE NOT `used`
  GROUP BY `rule`
  UNION ALL
  SELECT CAST('customers_capped' AS STRING) AS `metric`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(DISTINCT `customer_id`) AS `value`
  FROM `idshop__tl_work`.`people__tl_links`
  WHERE NOT `used`
  UNION ALL
  SELECT CAST('ignored_keys' AS STRING) AS `metric`, `g`.`rule` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_groups` AS g
  WHERE NOT (`g`.`records` <= 3)
  GROUP BY `g`.`rule`
  UNION ALL
  SELECT CAST('ignored_key' AS STRING) AS `metric`, `rule` AS `item`, `matched_on` AS `detail`, `records` AS `value`
  FROM (
    SELECT `g`.`rule`, CASE `g`.`rule` WHEN 'same_email' THEN `g`.`k1` WHEN 'same_phone' THEN `g`.`k1` WHEN 'same_card' THEN `g`.`k1` WHEN 'name_birth_date' THEN `g`.`k1` || ' + ' || `g`.`k2` || ' + ' || `g`.`k3` WHEN 'name_postcode_initial' THEN `g`.`k1` || ' + ' || `g`.`k2` || ' + ' || `g`.`k3` WHEN 'similar_first_name' THEN `g`.`k1` || ' + ' || `g`.`k2` END AS `matched_on`, `g`.`records`,
      ROW_NUMBER() OVER (PARTITION BY `g`.`rule` ORDER BY `g`.`records` DESC, `g`.`k1`, `g`.`k2`, `g`.`k3`) AS `pick`
    FROM `idshop__tl_work`.`people__tl_groups` AS g
    WHERE NOT (`g`.`records` <= 3)
  ) AS ranked
  WHERE `pick` <= 10
  UNION ALL
  SELECT CAST('junk_value' AS STRING) AS `metric`, `v`.`field` AS `item`, `v`.`value` AS `detail`, COUNT(DISTINCT `v`.`rec`) AS `value`
  FROM `idshop__tl_work`.`people__tl_values` AS v
  WHERE `v`.`junk`
  GROUP BY `v`.`field`, `v`.`value`
  UNION ALL
  SELECT CAST('largest_customer' AS STRING) AS `metric`, `customer_id` AS `item`, CAST(NULL AS STRING) AS `detail`, `records` AS `value`
  FROM (
    SELECT `customer_id`, `records`, ROW_NUMBER() OVER (ORDER BY `records` DESC, `customer_id`) AS `pick`
    FROM `idshop__tl_work`.`people__tl_build`
  ) AS ranked
  WHERE `pick` <= 5 AND `records` > 1
  UNION ALL
  SELECT CAST('rounds' AS STRING) AS `metric`, `phase` AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_rounds`
  GROUP BY `phase`
  UNION ALL
  SELECT CAST('ids_kept' AS STRING) AS `metric`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_customers`
  WHERE `origin` = 'kept'
  UNION ALL
  SELECT CAST('ids_new' AS STRING) AS `metric`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(*) AS `value`
  FROM `idshop__tl_work`.`people__tl_customers`
  WHERE `origin` = 'new'
  UNION ALL
  SELECT CAST('ids_retired' AS STRING) AS `metric`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS STRING) AS `detail`, COUNT(DISTINCT `p`.`customer_id`) AS `value`
  FROM `idshop__tl_work`.`people__tl_prev` AS p
  WHERE NOT EXISTS (SELECT 1 FROM `idshop__tl_work`.`people__tl_customers` AS c WHERE `c`.`customer_id` = `p`.`customer_id`)
) AS report;

-- swap in
CREATE OR REPLACE TABLE `idshop`.`people_map` COPY `idshop__tl_work`.`people__tl_map`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_map`;
CREATE OR REPLACE TABLE `idshop`.`people_links` COPY `idshop__tl_work`.`people__tl_links`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_links`;
CREATE OR REPLACE TABLE `idshop`.`people_report` COPY `idshop__tl_work`.`people__tl_report`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_report`;
CREATE OR REPLACE TABLE `idshop`.`people` COPY `idshop__tl_work`.`people__tl_build`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_build`;

-- clean up
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_prev`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_rows`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_records`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_values`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_keys`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_groups`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_edges`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_dropped`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_cut`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_capped_records`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_capped_labels`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_graph_next`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_labels`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_rounds`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_members`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_customers`;
DROP TABLE IF EXISTS `idshop__tl_work`.`people__tl_fields`;
