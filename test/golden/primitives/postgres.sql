-- date + 1 month (end of month clamps)
CAST(DATE '2024-01-31' + 1 * INTERVAL '1 month' AS DATE);

-- date - 3 days
CAST(DATE '2024-03-01' + -3 * INTERVAL '1 day' AS DATE);

-- date + 2 weeks
CAST(DATE '2024-03-01' + 2 * INTERVAL '1 week' AS DATE);

-- date + 1 year
CAST(DATE '2024-02-29' + 1 * INTERVAL '1 year' AS DATE);

-- timestamp + 90 days
(CAST('2024-01-01 12:00:00.000' AS TIMESTAMP) + 90 * INTERVAL '1 day');

-- timestamp + 1 month
(CAST('2024-01-31 08:00:00.000' AS TIMESTAMP) + 1 * INTERVAL '1 month');

-- days between
(CAST(DATE '2024-03-01' AS DATE) - CAST(DATE '2024-02-01' AS DATE));

-- days between timestamps ignores the time
(CAST(CAST('2024-02-02 00:01:00.000' AS TIMESTAMP) AS DATE) - CAST(CAST('2024-02-01 23:59:00.000' AS TIMESTAMP) AS DATE));

-- months between counts boundaries
((CAST(EXTRACT(YEAR FROM CAST(DATE '2024-02-01' AS DATE)) AS BIGINT) - CAST(EXTRACT(YEAR FROM CAST(DATE '2024-01-31' AS DATE)) AS BIGINT)) * 12 + CAST(EXTRACT(MONTH FROM CAST(DATE '2024-02-01' AS DATE)) AS BIGINT) - CAST(EXTRACT(MONTH FROM CAST(DATE '2024-01-31' AS DATE)) AS BIGINT));

-- months between, backwards
((CAST(EXTRACT(YEAR FROM CAST(DATE '2023-11-30' AS DATE)) AS BIGINT) - CAST(EXTRACT(YEAR FROM CAST(DATE '2024-05-15' AS DATE)) AS BIGINT)) * 12 + CAST(EXTRACT(MONTH FROM CAST(DATE '2023-11-30' AS DATE)) AS BIGINT) - CAST(EXTRACT(MONTH FROM CAST(DATE '2024-05-15' AS DATE)) AS BIGINT));

-- years between
(CAST(EXTRACT(YEAR FROM CAST(DATE '2024-01-01' AS DATE)) AS BIGINT) - CAST(EXTRACT(YEAR FROM CAST(DATE '2023-12-31' AS DATE)) AS BIGINT));

-- week starts on Monday
CAST(date_trunc('week', CAST(DATE '2024-03-10' AS TIMESTAMP)) AS DATE);

-- month start
CAST(date_trunc('month', CAST(DATE '2024-03-10' AS TIMESTAMP)) AS DATE);

-- quarter start
CAST(date_trunc('quarter', CAST(DATE '2024-08-10' AS TIMESTAMP)) AS DATE);

-- year start of a timestamp
date_trunc('year', CAST(CAST('2024-08-10 10:11:12.000' AS TIMESTAMP) AS TIMESTAMP));

-- hash to uint32 (md5 prefix)
CAST(CAST(('x' || substr(md5('abc'), 1, 8)) AS BIT(32)) AS BIGINT);

-- hash bucket
MOD(CAST(CAST(('x' || substr(md5('customer-42|winback|salt'), 1, 8)) AS BIT(32)) AS BIGINT), 100);

-- sha256 hex
encode(sha256(convert_to('alice@example.com', 'UTF8')), 'hex');

-- sha256 hex of non-ASCII
encode(sha256(convert_to('chloé', 'UTF8')), 'hex');

-- md5 hex
md5('alice@example.com');

-- regexp replace all
regexp_replace('+33 (0)6.12-34', '[^0-9+]', '', 'g');

-- regexp replace with backslash class
regexp_replace('a1b22c', E'\\d+', '#', 'g');

-- regexp contains
('bob@example.org' ~ E'^[^@]+@[^@]+\\.[a-z]+$');

-- regexp does not contain
('not an email' ~ '@');

-- substring
substr('abcdef', 2, 3);

-- trim, lower, upper
upper(btrim(lower('  MiXeD  ')));

-- length counts characters
length('chloé');

-- fold accents
unaccent('Éléonore Ça ñ');

-- edit distance
levenshtein(left('kitten', 255), left('sitting', 255));

-- edit distance of long values
levenshtein(left('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 255), left('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 255));

-- jaro-winkler
(not available);

-- try cast failing
(not available);

-- try cast succeeding
(not available);

-- cast to decimal rounds to cents
CAST(12.345 AS NUMERIC(18,2));

-- hash of a record number, as the random pairs draw it
CAST(CAST(('x' || substr(md5(CAST(CAST(1234 AS BIGINT) AS TEXT)), 1, 8)) AS BIT(32)) AS BIGINT);

-- substring counts characters
substr('élodie', 1, 2);

-- days between dates cast from text
(CAST(CAST('2023-12-31' AS DATE) AS DATE) - CAST(CAST('2024-02-28' AS DATE) AS DATE));

-- percentage with two decimals
CAST(CAST(substr(CAST(CAST(CAST(CAST(0.998 AS DOUBLE PRECISION) * 100 AS NUMERIC(18,2)) * 100 AS BIGINT) + 100000 AS TEXT), 2, 3) AS BIGINT) AS TEXT) || '.' || substr(CAST(CAST(CAST(CAST(0.998 AS DOUBLE PRECISION) * 100 AS NUMERIC(18,2)) * 100 AS BIGINT) + 100000 AS TEXT), 5, 2);

-- percentage of a certainty
CAST(CAST(substr(CAST(CAST(CAST(CAST(1 AS DOUBLE PRECISION) * 100 AS NUMERIC(18,2)) * 100 AS BIGINT) + 100000 AS TEXT), 2, 3) AS BIGINT) AS TEXT) || '.' || substr(CAST(CAST(CAST(CAST(1 AS DOUBLE PRECISION) * 100 AS NUMERIC(18,2)) * 100 AS BIGINT) + 100000 AS TEXT), 5, 2);

-- percentage below ten, rounded
CAST(CAST(substr(CAST(CAST(CAST(CAST(0.050049 AS DOUBLE PRECISION) * 100 AS NUMERIC(18,2)) * 100 AS BIGINT) + 100000 AS TEXT), 2, 3) AS BIGINT) AS TEXT) || '.' || substr(CAST(CAST(CAST(CAST(0.050049 AS DOUBLE PRECISION) * 100 AS NUMERIC(18,2)) * 100 AS BIGINT) + 100000 AS TEXT), 5, 2);

-- string agg in a given order
(SELECT STRING_AGG("x", ', ' ORDER BY "x" DESC) FROM (SELECT CAST('b' AS TEXT) AS "x" UNION ALL SELECT CAST('a' AS TEXT) AS "x" UNION ALL SELECT CAST(NULL AS TEXT) AS "x" UNION ALL SELECT CAST('c' AS TEXT) AS "x") AS t);

-- string agg of distinct values
(SELECT STRING_AGG(DISTINCT "x", '|' ORDER BY "x") FROM (SELECT CAST('b' AS TEXT) AS "x" UNION ALL SELECT CAST('a' AS TEXT) AS "x" UNION ALL SELECT CAST('b' AS TEXT) AS "x" UNION ALL SELECT CAST(NULL AS TEXT) AS "x") AS t);

-- string agg ordered by keys
(SELECT STRING_AGG("x" || '!', ', ' ORDER BY length("x"), "x") FROM (SELECT CAST('bb' AS TEXT) AS "x" UNION ALL SELECT CAST('b' AS TEXT) AS "x" UNION ALL SELECT CAST(NULL AS TEXT) AS "x" UNION ALL SELECT CAST('a' AS TEXT) AS "x" UNION ALL SELECT CAST('ab' AS TEXT) AS "x") AS t);

-- string agg of no value
(SELECT STRING_AGG("x", ', ' ORDER BY "x") FROM (SELECT CAST(NULL AS TEXT) AS "x" UNION ALL SELECT CAST(NULL AS TEXT) AS "x") AS t);

-- string agg of no distinct value
(SELECT STRING_AGG(DISTINCT "x", ', ' ORDER BY "x") FROM (SELECT CAST(NULL AS TEXT) AS "x") AS t);

CREATE SCHEMA IF NOT EXISTS "analytics";

CREATE TABLE "analytics"."members" AS
SELECT 1 AS id;

DROP TABLE IF EXISTS "analytics"."members";

ALTER TABLE "analytics"."members__tl_build" RENAME TO "members";

MERGE INTO "analytics"."members" AS "t"
USING (
SELECT id, name FROM staged
) AS "s"
ON "t"."id" = "s"."id"
WHEN MATCHED THEN UPDATE SET "name" = "s"."name"
WHEN NOT MATCHED THEN INSERT ("id", "name") VALUES ("s"."id", "s"."name");

CAST((now() AT TIME ZONE 'UTC') AS DATE);

(now() AT TIME ZONE 'UTC');

ANALYZE "analytics"."members";
