-- date + 1 month (end of month clamps)
DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH);

-- date - 3 days
DATE_ADD(DATE '2024-03-01', INTERVAL -3 DAY);

-- date + 2 weeks
DATE_ADD(DATE '2024-03-01', INTERVAL 2 WEEK);

-- date + 1 year
DATE_ADD(DATE '2024-02-29', INTERVAL 1 YEAR);

-- timestamp + 90 days
TIMESTAMP(DATETIME_ADD(DATETIME(CAST('2024-01-01 12:00:00.000' AS TIMESTAMP)), INTERVAL 90 DAY));

-- timestamp + 1 month
TIMESTAMP(DATETIME_ADD(DATETIME(CAST('2024-01-31 08:00:00.000' AS TIMESTAMP)), INTERVAL 1 MONTH));

-- days between
DATE_DIFF(DATE(DATE '2024-03-01'), DATE(DATE '2024-02-01'), DAY);

-- days between timestamps ignores the time
DATE_DIFF(DATE(CAST('2024-02-02 00:01:00.000' AS TIMESTAMP)), DATE(CAST('2024-02-01 23:59:00.000' AS TIMESTAMP)), DAY);

-- months between counts boundaries
DATE_DIFF(DATE(DATE '2024-02-01'), DATE(DATE '2024-01-31'), MONTH);

-- months between, backwards
DATE_DIFF(DATE(DATE '2023-11-30'), DATE(DATE '2024-05-15'), MONTH);

-- years between
DATE_DIFF(DATE(DATE '2024-01-01'), DATE(DATE '2023-12-31'), YEAR);

-- week starts on Monday
DATE_TRUNC(DATE '2024-03-10', ISOWEEK);

-- month start
DATE_TRUNC(DATE '2024-03-10', MONTH);

-- quarter start
DATE_TRUNC(DATE '2024-08-10', QUARTER);

-- year start of a timestamp
TIMESTAMP_TRUNC(CAST('2024-08-10 10:11:12.000' AS TIMESTAMP), YEAR, 'UTC');

-- hash to uint32 (md5 prefix)
CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('abc')), 1, 8)) AS INT64);

-- hash bucket
MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('customer-42|winback|salt')), 1, 8)) AS INT64), 100);

-- sha256 hex
TO_HEX(SHA256('alice@example.com'));

-- sha256 hex of non-ASCII
TO_HEX(SHA256('chloé'));

-- md5 hex
TO_HEX(MD5('alice@example.com'));

-- regexp replace all
REGEXP_REPLACE('+33 (0)6.12-34', '[^0-9+]', '');

-- regexp replace with backslash class
REGEXP_REPLACE('a1b22c', '\\d+', '#');

-- regexp contains
REGEXP_CONTAINS('bob@example.org', '^[^@]+@[^@]+\\.[a-z]+$');

-- regexp does not contain
REGEXP_CONTAINS('not an email', '@');

-- substring
SUBSTR('abcdef', 2, 3);

-- trim, lower, upper
UPPER(TRIM(LOWER('  MiXeD  ')));

-- length counts characters
LENGTH('chloé');

-- fold accents
REGEXP_REPLACE(NORMALIZE('Éléonore Ça ñ', NFD), r'\pM', '');

-- edit distance
EDIT_DISTANCE('kitten', 'sitting');

-- edit distance of long values
EDIT_DISTANCE('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');

-- jaro-winkler
(not available);

-- try cast failing
SAFE_CAST('abc' AS INT64);

-- try cast succeeding
SAFE_CAST('12' AS INT64);

-- cast to decimal rounds to cents
CAST(12.345 AS NUMERIC(18,2));

-- hash of a record number, as the random pairs draw it
CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CAST(CAST(1234 AS INT64) AS STRING))), 1, 8)) AS INT64);

-- substring counts characters
SUBSTR('élodie', 1, 2);

-- days between dates cast from text
DATE_DIFF(DATE(CAST('2023-12-31' AS DATE)), DATE(CAST('2024-02-28' AS DATE)), DAY);

-- percentage with two decimals
CAST(CAST(SUBSTR(CAST(CAST(CAST(CAST(0.998 AS FLOAT64) * 100 AS NUMERIC(18,2)) * 100 AS INT64) + 100000 AS STRING), 2, 3) AS INT64) AS STRING) || '.' || SUBSTR(CAST(CAST(CAST(CAST(0.998 AS FLOAT64) * 100 AS NUMERIC(18,2)) * 100 AS INT64) + 100000 AS STRING), 5, 2);

-- percentage of a certainty
CAST(CAST(SUBSTR(CAST(CAST(CAST(CAST(1 AS FLOAT64) * 100 AS NUMERIC(18,2)) * 100 AS INT64) + 100000 AS STRING), 2, 3) AS INT64) AS STRING) || '.' || SUBSTR(CAST(CAST(CAST(CAST(1 AS FLOAT64) * 100 AS NUMERIC(18,2)) * 100 AS INT64) + 100000 AS STRING), 5, 2);

-- percentage below ten, rounded
CAST(CAST(SUBSTR(CAST(CAST(CAST(CAST(0.050049 AS FLOAT64) * 100 AS NUMERIC(18,2)) * 100 AS INT64) + 100000 AS STRING), 2, 3) AS INT64) AS STRING) || '.' || SUBSTR(CAST(CAST(CAST(CAST(0.050049 AS FLOAT64) * 100 AS NUMERIC(18,2)) * 100 AS INT64) + 100000 AS STRING), 5, 2);

-- string agg in a given order
(SELECT STRING_AGG(`x`, ', ' ORDER BY `x` DESC) FROM (SELECT CAST('b' AS STRING) AS `x` UNION ALL SELECT CAST('a' AS STRING) AS `x` UNION ALL SELECT CAST(NULL AS STRING) AS `x` UNION ALL SELECT CAST('c' AS STRING) AS `x`) AS t);

-- string agg of distinct values
(SELECT STRING_AGG(DISTINCT `x`, '|' ORDER BY `x`) FROM (SELECT CAST('b' AS STRING) AS `x` UNION ALL SELECT CAST('a' AS STRING) AS `x` UNION ALL SELECT CAST('b' AS STRING) AS `x` UNION ALL SELECT CAST(NULL AS STRING) AS `x`) AS t);

-- string agg ordered by keys
(SELECT STRING_AGG(`x` || '!', ', ' ORDER BY LENGTH(`x`), `x`) FROM (SELECT CAST('bb' AS STRING) AS `x` UNION ALL SELECT CAST('b' AS STRING) AS `x` UNION ALL SELECT CAST(NULL AS STRING) AS `x` UNION ALL SELECT CAST('a' AS STRING) AS `x` UNION ALL SELECT CAST('ab' AS STRING) AS `x`) AS t);

-- string agg of no value
(SELECT STRING_AGG(`x`, ', ' ORDER BY `x`) FROM (SELECT CAST(NULL AS STRING) AS `x` UNION ALL SELECT CAST(NULL AS STRING) AS `x`) AS t);

-- string agg of no distinct value
(SELECT STRING_AGG(DISTINCT `x`, ', ' ORDER BY `x`) FROM (SELECT CAST(NULL AS STRING) AS `x`) AS t);

CREATE SCHEMA IF NOT EXISTS `analytics`;

CREATE TABLE `analytics`.`members` AS
SELECT 1 AS id;

CREATE OR REPLACE TABLE `analytics`.`members` COPY `analytics`.`members__tl_build`;

DROP TABLE IF EXISTS `analytics`.`members__tl_build`;

MERGE INTO `analytics`.`members` AS `t`
USING (
SELECT id, name FROM staged
) AS `s`
ON `t`.`id` = `s`.`id`
WHEN MATCHED THEN UPDATE SET `name` = `s`.`name`
WHEN NOT MATCHED THEN INSERT (`id`, `name`) VALUES (`s`.`id`, `s`.`name`);

CURRENT_DATE('UTC');

CURRENT_TIMESTAMP();
