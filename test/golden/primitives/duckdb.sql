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
date_diff('day', CAST(DATE '2024-02-01' AS DATE), CAST(DATE '2024-03-01' AS DATE));

-- days between timestamps ignores the time
date_diff('day', CAST(CAST('2024-02-01 23:59:00.000' AS TIMESTAMP) AS DATE), CAST(CAST('2024-02-02 00:01:00.000' AS TIMESTAMP) AS DATE));

-- months between counts boundaries
date_diff('month', CAST(DATE '2024-01-31' AS DATE), CAST(DATE '2024-02-01' AS DATE));

-- months between, backwards
date_diff('month', CAST(DATE '2024-05-15' AS DATE), CAST(DATE '2023-11-30' AS DATE));

-- years between
date_diff('year', CAST(DATE '2023-12-31' AS DATE), CAST(DATE '2024-01-01' AS DATE));

-- week starts on Monday
CAST(date_trunc('week', DATE '2024-03-10') AS DATE);

-- month start
CAST(date_trunc('month', DATE '2024-03-10') AS DATE);

-- quarter start
CAST(date_trunc('quarter', DATE '2024-08-10') AS DATE);

-- year start of a timestamp
date_trunc('year', CAST('2024-08-10 10:11:12.000' AS TIMESTAMP));

-- hash to uint32 (md5 prefix)
CAST(('0x' || substr(md5('abc'), 1, 8)) AS BIGINT);

-- hash bucket
MOD(CAST(('0x' || substr(md5('customer-42|winback|salt'), 1, 8)) AS BIGINT), 100);

-- sha256 hex
sha256('alice@example.com');

-- sha256 hex of non-ASCII
sha256('chloé');

-- md5 hex
md5('alice@example.com');

-- regexp replace all
regexp_replace('+33 (0)6.12-34', '[^0-9+]', '', 'g');

-- regexp replace with backslash class
regexp_replace('a1b22c', '\d+', '#', 'g');

-- regexp contains
regexp_matches('bob@example.org', '^[^@]+@[^@]+\.[a-z]+$');

-- regexp does not contain
regexp_matches('not an email', '@');

-- substring
substr('abcdef', 2, 3);

-- trim, lower, upper
upper(trim(lower('  MiXeD  ')));

-- length counts characters
length('chloé');

-- fold accents
strip_accents('Éléonore Ça ñ');

-- edit distance
levenshtein('kitten', 'sitting');

-- edit distance of long values
levenshtein('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');

-- jaro-winkler
ROUND(jaro_winkler_similarity('martha', 'marhta'), 4);

-- try cast failing
TRY_CAST('abc' AS BIGINT);

-- try cast succeeding
TRY_CAST('12' AS BIGINT);

-- cast to decimal rounds to cents
CAST(12.345 AS DECIMAL(18,2));

-- hash of a record number, as the random pairs draw it
CAST(('0x' || substr(md5(CAST(CAST(1234 AS BIGINT) AS VARCHAR)), 1, 8)) AS BIGINT);

-- substring counts characters
substr('élodie', 1, 2);

-- days between dates cast from text
date_diff('day', CAST(CAST('2024-02-28' AS DATE) AS DATE), CAST(CAST('2023-12-31' AS DATE) AS DATE));

-- percentage with two decimals
CAST(CAST(substr(CAST(CAST(CAST(CAST(0.998 AS DOUBLE) * 100 AS DECIMAL(18,2)) * 100 AS BIGINT) + 100000 AS VARCHAR), 2, 3) AS BIGINT) AS VARCHAR) || '.' || substr(CAST(CAST(CAST(CAST(0.998 AS DOUBLE) * 100 AS DECIMAL(18,2)) * 100 AS BIGINT) + 100000 AS VARCHAR), 5, 2);

-- percentage of a certainty
CAST(CAST(substr(CAST(CAST(CAST(CAST(1 AS DOUBLE) * 100 AS DECIMAL(18,2)) * 100 AS BIGINT) + 100000 AS VARCHAR), 2, 3) AS BIGINT) AS VARCHAR) || '.' || substr(CAST(CAST(CAST(CAST(1 AS DOUBLE) * 100 AS DECIMAL(18,2)) * 100 AS BIGINT) + 100000 AS VARCHAR), 5, 2);

-- percentage below ten, rounded
CAST(CAST(substr(CAST(CAST(CAST(CAST(0.050049 AS DOUBLE) * 100 AS DECIMAL(18,2)) * 100 AS BIGINT) + 100000 AS VARCHAR), 2, 3) AS BIGINT) AS VARCHAR) || '.' || substr(CAST(CAST(CAST(CAST(0.050049 AS DOUBLE) * 100 AS DECIMAL(18,2)) * 100 AS BIGINT) + 100000 AS VARCHAR), 5, 2);

-- string agg in a given order
(SELECT STRING_AGG("x", ', ' ORDER BY "x" DESC) FROM (SELECT CAST('b' AS VARCHAR) AS "x" UNION ALL SELECT CAST('a' AS VARCHAR) AS "x" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "x" UNION ALL SELECT CAST('c' AS VARCHAR) AS "x") AS t);

-- string agg of distinct values
(SELECT array_to_string(list_sort(list(DISTINCT "x") FILTER (WHERE "x" IS NOT NULL)), '|') FROM (SELECT CAST('b' AS VARCHAR) AS "x" UNION ALL SELECT CAST('a' AS VARCHAR) AS "x" UNION ALL SELECT CAST('b' AS VARCHAR) AS "x" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "x") AS t);

-- string agg ordered by keys
(SELECT array_to_string(list_transform(list_sort(list(struct_pack("k1" := length("x"), "k2" := "x", "v" := "x" || '!')) FILTER (WHERE "x" || '!' IS NOT NULL)), lambda "tl_sorted_item": "tl_sorted_item"."v"), ', ') FROM (SELECT CAST('bb' AS VARCHAR) AS "x" UNION ALL SELECT CAST('b' AS VARCHAR) AS "x" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "x" UNION ALL SELECT CAST('a' AS VARCHAR) AS "x" UNION ALL SELECT CAST('ab' AS VARCHAR) AS "x") AS t);

-- string agg of no value
(SELECT array_to_string(list_transform(list_sort(list(struct_pack("k1" := "x", "v" := "x")) FILTER (WHERE "x" IS NOT NULL)), lambda "tl_sorted_item": "tl_sorted_item"."v"), ', ') FROM (SELECT CAST(NULL AS VARCHAR) AS "x" UNION ALL SELECT CAST(NULL AS VARCHAR) AS "x") AS t);

-- string agg of no distinct value
(SELECT array_to_string(list_sort(list(DISTINCT "x") FILTER (WHERE "x" IS NOT NULL)), ', ') FROM (SELECT CAST(NULL AS VARCHAR) AS "x") AS t);

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

read_csv('data/people.csv', header = true, auto_detect = true, types = {'phone': 'VARCHAR'}, ignore_errors = true);

CAST(timezone('UTC', now()) AS DATE);

timezone('UTC', now());
