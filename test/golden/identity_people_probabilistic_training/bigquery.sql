-- parameters of the same fingerprint found: re-used

SELECT COUNT(*) AS `n` FROM `idshop__tl_work`.`people__tl_carried_parameters`;

CREATE TABLE `idshop__tl_work`.`people__tl_parameters` AS
SELECT `comparison`, `gamma`, `label`, `m`, `u`, `weight`, `fingerprint`, `trained_at` FROM `idshop__tl_work`.`people__tl_carried_parameters`;

CREATE TABLE `idshop__tl_work`.`people__tl_training` AS
SELECT CAST(NULL AS STRING) AS `kind`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS INT64) AS `value` LIMIT 0;

-- none found: trained

SELECT COUNT(*) AS `n` FROM `idshop__tl_work`.`people__tl_carried_parameters`;

SELECT COUNT(*) AS `n` FROM `idshop__tl_work`.`people__tl_wide`;

WITH s AS (
  SELECT `w`.*
  FROM `idshop__tl_work`.`people__tl_wide` AS w
  JOIN `idshop__tl_work`.`people__tl_records` AS k ON `k`.`rec` = `w`.`rec`
  ORDER BY CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(`k`.`source` || ':' || `k`.`source_id`)), 1, 8)) AS INT64), TO_HEX(MD5(`k`.`source` || ':' || `k`.`source_id`))
  LIMIT 1416
), g AS (
  SELECT CASE WHEN `l`.`v1` IS NULL OR `r`.`v1` IS NULL THEN -1 WHEN `l`.`v1` = `r`.`v1` THEN 2 WHEN EDIT_DISTANCE(`l`.`v1`, `r`.`v1`) <= 1 THEN 1 ELSE 0 END AS `g1`, CASE WHEN `l`.`v2` IS NULL OR `r`.`v2` IS NULL THEN -1 WHEN `l`.`v2` = `r`.`v2` THEN 2 WHEN EDIT_DISTANCE(`l`.`v2`, `r`.`v2`) <= 1 THEN 1 ELSE 0 END AS `g2`, CASE WHEN `l`.`v3` IS NULL OR `r`.`v3` IS NULL THEN -1 WHEN `l`.`v3` = `r`.`v3` THEN 4 WHEN EDIT_DISTANCE(`l`.`v3`, `r`.`v3`) <= 1 THEN 3 WHEN EDIT_DISTANCE(`l`.`v3`, `r`.`v3`) <= 2 THEN 2 WHEN SUBSTR(`l`.`v3`, 1, 1) = SUBSTR(`r`.`v3`, 1, 1) AND (LENGTH(`l`.`v3`) = 1 OR LENGTH(`r`.`v3`) = 1) THEN 1 ELSE 0 END AS `g3`, CASE WHEN `l`.`v4` IS NULL OR `r`.`v4` IS NULL THEN -1 WHEN `l`.`v4` = `r`.`v4` THEN 4 WHEN EDIT_DISTANCE(`l`.`v4`, `r`.`v4`) <= 1 THEN 3 WHEN EDIT_DISTANCE(`l`.`v4`, `r`.`v4`) <= 2 THEN 2 WHEN SUBSTR(`l`.`v4`, 1, 1) = SUBSTR(`r`.`v4`, 1, 1) AND (LENGTH(`l`.`v4`) = 1 OR LENGTH(`r`.`v4`) = 1) THEN 1 ELSE 0 END AS `g4`, CASE WHEN `l`.`v5` IS NULL OR `r`.`v5` IS NULL THEN -1 WHEN `l`.`v5` = `r`.`v5` THEN 4 WHEN EDIT_DISTANCE(`l`.`v5`, `r`.`v5`) <= 1 THEN 3 WHEN SUBSTR(`l`.`v5`, 1, 4) = SUBSTR(`r`.`v5`, 1, 4) AND SUBSTR(`l`.`v5`, 6, 2) = SUBSTR(`r`.`v5`, 9, 2) AND SUBSTR(`l`.`v5`, 9, 2) = SUBSTR(`r`.`v5`, 6, 2) THEN 2 WHEN ABS(DATE_DIFF(DATE(CAST(`r`.`v5` AS DATE)), DATE(CAST(`l`.`v5` AS DATE)), DAY)) <= 365 THEN 1 ELSE 0 END AS `g5`, CASE WHEN `l`.`v6` IS NULL OR `r`.`v6` IS NULL THEN -1 WHEN `l`.`v6` = `r`.`v6` THEN 3 WHEN EDIT_DISTANCE(`l`.`v6`, `r`.`v6`) <= 1 THEN 2 WHEN SUBSTR(`l`.`v6`, 1, 3) = SUBSTR(`r`.`v6`, 1, 3) THEN 1 ELSE 0 END AS `g6`, CASE WHEN `l`.`v7` IS NULL OR `r`.`v7` IS NULL THEN -1 WHEN `l`.`v7` = `r`.`v7` THEN 2 WHEN EDIT_DISTANCE(`l`.`v7`, `r`.`v7`) <= 1 THEN 1 ELSE 0 END AS `g7`
  FROM s AS l
  JOIN s AS r ON `r`.`rec` > `l`.`rec`
)
SELECT `g1`, `g2`, `g3`, `g4`, `g5`, `g6`, `g7`, COUNT(*) AS `pairs`
FROM g
GROUP BY `g1`, `g2`, `g3`, `g4`, `g5`, `g6`, `g7`;

SELECT `g1`, `g2`, `g3`, `g4`, `g5`, `g6`, `g7`, `f1`, `f2`, `f3`, `f4`, `f5`, `f6`, `f7`, `f8`, `f9`, `f10`, `f11`, `f12`, `f13`, COUNT(*) AS `pairs`
FROM `idshop__tl_work`.`people__tl_gammas`
GROUP BY `g1`, `g2`, `g3`, `g4`, `g5`, `g6`, `g7`, `f1`, `f2`, `f3`, `f4`, `f5`, `f6`, `f7`, `f8`, `f9`, `f10`, `f11`, `f12`, `f13`;

CREATE TABLE `idshop__tl_work`.`people__tl_parameters` AS
SELECT CAST('(prior)' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('prior' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('email' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('email' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('email' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('phone' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('phone' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('phone' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('first_name' AS STRING) AS `comparison`, CAST(4 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('first_name' AS STRING) AS `comparison`, CAST(3 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('first_name' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('≤ 2 edits' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('first_name' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('initial' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('first_name' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('last_name' AS STRING) AS `comparison`, CAST(4 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('last_name' AS STRING) AS `comparison`, CAST(3 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('last_name' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('≤ 2 edits' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('last_name' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('initial' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('last_name' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('birth_date' AS STRING) AS `comparison`, CAST(4 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('birth_date' AS STRING) AS `comparison`, CAST(3 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('birth_date' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('day and month swapped' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('birth_date' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('within 365 days' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('birth_date' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('postcode' AS STRING) AS `comparison`, CAST(3 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('postcode' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('postcode' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('first 3 characters' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('postcode' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('loyalty_card' AS STRING) AS `comparison`, CAST(2 AS INT64) AS `gamma`, CAST('exact' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('loyalty_card' AS STRING) AS `comparison`, CAST(1 AS INT64) AS `gamma`, CAST('≤ 1 edit' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`
UNION ALL
SELECT CAST('loyalty_card' AS STRING) AS `comparison`, CAST(0 AS INT64) AS `gamma`, CAST('else' AS STRING) AS `label`,
  CAST(<float> AS FLOAT64) AS `m`, CAST(<float> AS FLOAT64) AS `u`, CAST(<float> AS FLOAT64) AS `weight`, CAST('c6664467b0413ca4' AS STRING) AS `fingerprint`, CAST('2026-01-02 03:04:05.000' AS TIMESTAMP) AS `trained_at`;

CREATE TABLE `idshop__tl_work`.`people__tl_training` AS
SELECT CAST(NULL AS STRING) AS `kind`, CAST(NULL AS STRING) AS `item`, CAST(NULL AS INT64) AS `value` LIMIT 0;
