-- date + 1 month (end of month clamps)
DATEADD(MONTH, 1, DATE '2024-01-31');

-- date - 3 days
DATEADD(DAY, -3, DATE '2024-03-01');

-- date + 2 weeks
DATEADD(WEEK, 2, DATE '2024-03-01');

-- date + 1 year
DATEADD(YEAR, 1, DATE '2024-02-29');

-- timestamp + 90 days
DATEADD(DAY, 90, TO_TIMESTAMP_NTZ('2024-01-01 12:00:00.000'));

-- timestamp + 1 month
DATEADD(MONTH, 1, TO_TIMESTAMP_NTZ('2024-01-31 08:00:00.000'));

-- days between
DATEDIFF(DAY, CAST(DATE '2024-02-01' AS DATE), CAST(DATE '2024-03-01' AS DATE));

-- days between timestamps ignores the time
DATEDIFF(DAY, CAST(TO_TIMESTAMP_NTZ('2024-02-01 23:59:00.000') AS DATE), CAST(TO_TIMESTAMP_NTZ('2024-02-02 00:01:00.000') AS DATE));

-- months between counts boundaries
DATEDIFF(MONTH, CAST(DATE '2024-01-31' AS DATE), CAST(DATE '2024-02-01' AS DATE));

-- months between, backwards
DATEDIFF(MONTH, CAST(DATE '2024-05-15' AS DATE), CAST(DATE '2023-11-30' AS DATE));

-- years between
DATEDIFF(YEAR, CAST(DATE '2023-12-31' AS DATE), CAST(DATE '2024-01-01' AS DATE));

-- week starts on Monday
DATE_TRUNC('WEEK', DATE '2024-03-10');

-- month start
DATE_TRUNC('MONTH', DATE '2024-03-10');

-- quarter start
DATE_TRUNC('QUARTER', DATE '2024-08-10');

-- year start of a timestamp
DATE_TRUNC('YEAR', TO_TIMESTAMP_NTZ('2024-08-10 10:11:12.000'));

-- hash to uint32 (md5 prefix)
TO_NUMBER(SUBSTR(MD5('abc'), 1, 8), 'XXXXXXXX');

-- hash bucket
MOD(TO_NUMBER(SUBSTR(MD5('customer-42|winback|salt'), 1, 8), 'XXXXXXXX'), 100);

-- sha256 hex
SHA2('alice@example.com', 256);

-- sha256 hex of non-ASCII
SHA2('chloé', 256);

-- md5 hex
MD5('alice@example.com');

-- regexp replace all
REGEXP_REPLACE('+33 (0)6.12-34', '[^0-9+]', '');

-- regexp replace with backslash class
REGEXP_REPLACE('a1b22c', '\\d+', '#');

-- regexp contains
REGEXP_INSTR('bob@example.org', '^[^@]+@[^@]+\\.[a-z]+$') > 0;

-- regexp does not contain
REGEXP_INSTR('not an email', '@') > 0;

-- substring
SUBSTR('abcdef', 2, 3);

-- trim, lower, upper
UPPER(TRIM(LOWER('  MiXeD  ')));

-- length counts characters
LENGTH('chloé');

-- fold accents
(not available);

-- edit distance
EDITDISTANCE('kitten', 'sitting');

-- edit distance of long values
EDITDISTANCE('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');

-- jaro-winkler
ROUND((JAROWINKLER_SIMILARITY('martha', 'marhta') / 100.0), 4);

-- try cast failing
TRY_CAST('abc' AS NUMBER(38,0));

-- try cast succeeding
TRY_CAST('12' AS NUMBER(38,0));

-- cast to decimal rounds to cents
CAST(12.345 AS NUMBER(18,2));

-- hash of a record number, as the random pairs draw it
TO_NUMBER(SUBSTR(MD5(CAST(CAST(1234 AS NUMBER(38,0)) AS VARCHAR)), 1, 8), 'XXXXXXXX');

-- substring counts characters
SUBSTR('élodie', 1, 2);

-- days between dates cast from text
DATEDIFF(DAY, CAST(CAST('2024-02-28' AS DATE) AS DATE), CAST(CAST('2023-12-31' AS DATE) AS DATE));

-- percentage with two decimals
CAST(CAST(SUBSTR(CAST(CAST(CAST(CAST(0.998 AS FLOAT) * 100 AS NUMBER(18,2)) * 100 AS NUMBER(38,0)) + 100000 AS VARCHAR), 2, 3) AS NUMBER(38,0)) AS VARCHAR) || '.' || SUBSTR(CAST(CAST(CAST(CAST(0.998 AS FLOAT) * 100 AS NUMBER(18,2)) * 100 AS NUMBER(38,0)) + 100000 AS VARCHAR), 5, 2);

-- percentage of a certainty
CAST(CAST(SUBSTR(CAST(CAST(CAST(CAST(1 AS FLOAT) * 100 AS NUMBER(18,2)) * 100 AS NUMBER(38,0)) + 100000 AS VARCHAR), 2, 3) AS NUMBER(38,0)) AS VARCHAR) || '.' || SUBSTR(CAST(CAST(CAST(CAST(1 AS FLOAT) * 100 AS NUMBER(18,2)) * 100 AS NUMBER(38,0)) + 100000 AS VARCHAR), 5, 2);

-- percentage below ten, rounded
CAST(CAST(SUBSTR(CAST(CAST(CAST(CAST(0.050049 AS FLOAT) * 100 AS NUMBER(18,2)) * 100 AS NUMBER(38,0)) + 100000 AS VARCHAR), 2, 3) AS NUMBER(38,0)) AS VARCHAR) || '.' || SUBSTR(CAST(CAST(CAST(CAST(0.050049 AS FLOAT) * 100 AS NUMBER(18,2)) * 100 AS NUMBER(38,0)) + 100000 AS VARCHAR), 5, 2);

-- string agg in a given order
(SELECT LISTAGG("X", ', ') WITHIN GROUP (ORDER BY "X" DESC) FROM (SELECT CAST('b' AS VARCHAR) AS "X" UNION ALL SELECT CAST('a' AS VARCHAR) AS "X" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "X" UNION ALL SELECT CAST('c' AS VARCHAR) AS "X") AS t);

-- string agg of distinct values
(SELECT LISTAGG(DISTINCT "X", '|') WITHIN GROUP (ORDER BY "X") FROM (SELECT CAST('b' AS VARCHAR) AS "X" UNION ALL SELECT CAST('a' AS VARCHAR) AS "X" UNION ALL SELECT CAST('b' AS VARCHAR) AS "X" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "X") AS t);

-- string agg ordered by keys
(SELECT LISTAGG("X" || '!', ', ') WITHIN GROUP (ORDER BY LENGTH("X"), "X") FROM (SELECT CAST('bb' AS VARCHAR) AS "X" UNION ALL SELECT CAST('b' AS VARCHAR) AS "X" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "X" UNION ALL SELECT CAST('a' AS VARCHAR) AS "X" UNION ALL SELECT CAST('ab' AS VARCHAR) AS "X") AS t);

-- string agg of no value
(SELECT LISTAGG("X", ', ') WITHIN GROUP (ORDER BY "X") FROM (SELECT CAST(NULL AS VARCHAR) AS "X" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "X") AS t);

-- string agg of no distinct value
(SELECT LISTAGG(DISTINCT "X", ', ') WITHIN GROUP (ORDER BY "X") FROM (SELECT CAST(NULL AS VARCHAR) AS "X") AS t);

CREATE SCHEMA IF NOT EXISTS "ANALYTICS";

CREATE TABLE "ANALYTICS"."MEMBERS" AS
SELECT 1 AS id;

CREATE OR REPLACE TABLE "ANALYTICS"."MEMBERS" CLONE "ANALYTICS"."MEMBERS__TL_BUILD";

DROP TABLE IF EXISTS "ANALYTICS"."MEMBERS__TL_BUILD";

MERGE INTO "ANALYTICS"."MEMBERS" AS "T"
USING (
SELECT id, name FROM staged
) AS "S"
ON "T"."ID" = "S"."ID"
WHEN MATCHED THEN UPDATE SET "NAME" = "S"."NAME"
WHEN NOT MATCHED THEN INSERT ("ID", "NAME") VALUES ("S"."ID", "S"."NAME");

CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE);

CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS TIMESTAMP_NTZ);
